-- Partially paid lines: which rule took how many units and dollars (one row per adjustment).
SELECT o.period, o.icn, o.line_no, o.billed_units, o.paid_units, d.rule_id, d.units, d.amount, d.is_primary
FROM claim_outcomes o
JOIN denial_ledger d ON d.period = o.period AND d.source_file = o.source_file AND d.source_row = o.source_row
                    AND d.row_type = o.row_type
WHERE o.outcome = 'partial'
ORDER BY o.period, o.icn, o.line_no, d.is_primary DESC, d.rule_id;
