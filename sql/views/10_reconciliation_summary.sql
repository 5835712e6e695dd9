-- reconciliation_summary: period x provider x program x service. Counts, units and dollars billed,
-- paid, denied/reduced (adjusted, not rejected) and rejected; reversal rows (voided/replaced) apart.
-- Balance per row: billed_amount = paid_amount + denied_amount + rejected_amount.
CREATE OR REPLACE VIEW reconciliation_summary AS
SELECT period,
       coalesce(billing_provider_id, '(unreadable)') AS billing_provider_id,
       coalesce(waiver_program, '(none)') AS waiver_program,
       coalesce(service_key, coalesce(procedure_code, '(unreadable)')) AS service,
       count(*) FILTER (WHERE row_type = 'line') AS claim_lines,
       count(*) FILTER (WHERE outcome = 'paid') AS paid_lines,
       count(*) FILTER (WHERE outcome = 'partial') AS partial_lines,
       count(*) FILTER (WHERE outcome = 'denied') AS denied_lines,
       count(*) FILTER (WHERE outcome = 'rejected') AS rejected_lines,
       count(*) FILTER (WHERE row_type <> 'line') AS reversal_rows,
       sum(billed_units) AS billed_units,
       sum(paid_units) AS paid_units,
       CAST(sum(billed_amount) AS DECIMAL(38,2)) AS billed_amount,
       CAST(sum(paid_amount) AS DECIMAL(38,2)) AS paid_amount,
       CAST(coalesce(sum(adjusted_amount) FILTER (WHERE outcome <> 'rejected'), 0) AS DECIMAL(38,2)) AS denied_amount,
       CAST(coalesce(sum(adjusted_amount) FILTER (WHERE outcome = 'rejected'), 0) AS DECIMAL(38,2)) AS rejected_amount
FROM claim_outcomes
GROUP BY ALL;

-- The denied column of reconciliation_summary broken down by reason (one row per rule).
CREATE OR REPLACE VIEW reconciliation_denials AS
SELECT o.period,
       coalesce(o.billing_provider_id, '(unreadable)') AS billing_provider_id,
       coalesce(o.waiver_program, '(none)') AS waiver_program,
       coalesce(o.service_key, coalesce(o.procedure_code, '(unreadable)')) AS service,
       d.rule_id, d.group_code, d.carc, d.rarc,
       count(*) FILTER (WHERE d.is_primary) AS primary_lines,
       sum(d.units) AS units, CAST(sum(d.amount) AS DECIMAL(38,2)) AS amount
FROM denial_ledger d
JOIN claim_outcomes o ON o.period = d.period AND o.source_file = d.source_file AND o.source_row = d.source_row
                     AND o.row_type = d.row_type
GROUP BY ALL;
