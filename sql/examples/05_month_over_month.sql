-- How paid and denied dollars moved month to month.
SELECT period, claim_lines, billed_amount, paid_amount, paid_change, denied_amount, rejected_amount, pct_denied
FROM month_over_month ORDER BY period;
