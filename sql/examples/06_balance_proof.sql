-- The balance every run proves: billed = paid + denied + rejected, per period (difference must be 0.00).
SELECT period, sum(billed_amount) AS billed, sum(paid_amount) AS paid, sum(denied_amount) AS denied,
       sum(rejected_amount) AS rejected,
       sum(billed_amount) - sum(paid_amount) - sum(denied_amount) - sum(rejected_amount) AS difference
FROM reconciliation_summary GROUP BY period ORDER BY period;
