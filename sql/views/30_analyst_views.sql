-- denials_by_rule_provider: denied and reduced units and dollars per period, rule and provider.
CREATE OR REPLACE VIEW denials_by_rule_provider AS
SELECT d.period, d.rule_id, d.group_code, d.carc, d.rarc, o.billing_provider_id,
       count(DISTINCT (d.source_file, d.source_row)) AS lines,
       count(*) FILTER (WHERE d.is_primary) AS primary_lines,
       sum(d.units) AS units, CAST(sum(d.amount) AS DECIMAL(38,2)) AS amount,
       any_value(d.message) AS message, any_value(d.citation) AS citation
FROM denial_ledger d
JOIN claim_outcomes o ON o.period = d.period AND o.source_file = d.source_file AND o.source_row = d.source_row
                     AND o.row_type = d.row_type
GROUP BY ALL;

-- provider_scorecard: per period and provider, how clean the billing was.
CREATE OR REPLACE VIEW provider_scorecard AS
WITH s AS (
    SELECT period, billing_provider_id, sum(claim_lines) AS claim_lines, sum(paid_lines) AS paid_lines,
           sum(partial_lines) AS partial_lines, sum(denied_lines) AS denied_lines, sum(rejected_lines) AS rejected_lines,
           sum(billed_amount) AS billed_amount, sum(paid_amount) AS paid_amount,
           sum(denied_amount) AS denied_amount, sum(rejected_amount) AS rejected_amount
    FROM reconciliation_summary GROUP BY ALL
), f AS (
    SELECT period, provider_id AS billing_provider_id, count(*) AS findings FROM findings GROUP BY ALL
)
SELECT s.*, coalesce(f.findings, 0) AS findings,
       CASE WHEN s.claim_lines > 0 THEN round(100.0 * s.paid_lines / s.claim_lines, 1) END AS pct_lines_paid_in_full,
       CASE WHEN s.billed_amount > 0 THEN round(100 * s.paid_amount / s.billed_amount, 1) END AS pct_dollars_paid
FROM s LEFT JOIN f USING (period, billing_provider_id);

-- unbilled_services: documented contacts with no claim line after the unbilled window (a finding).
CREATE OR REPLACE VIEW unbilled_services AS
SELECT period, provider_id, staff_id, recipient_id, subject_date AS service_date, message, evidence
FROM findings WHERE rule_id = 'UNBILLED-SERVICE';

-- month_over_month: each period's totals beside the previous period's.
CREATE OR REPLACE VIEW month_over_month AS
WITH t AS (
    SELECT period, sum(claim_lines) AS claim_lines, sum(billed_amount) AS billed_amount,
           sum(paid_amount) AS paid_amount, sum(denied_amount) AS denied_amount,
           sum(rejected_amount) AS rejected_amount
    FROM reconciliation_summary GROUP BY period
)
SELECT *, paid_amount - lag(paid_amount) OVER (ORDER BY period) AS paid_change,
       CASE WHEN billed_amount > 0 THEN round(100 * (denied_amount + rejected_amount) / billed_amount, 2) END AS pct_denied
FROM t;
