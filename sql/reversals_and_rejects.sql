-- Voids, replacements and rejected claim lines of the period, after the judged lines are in.
-- Parameter: $period. Needs adj_this (sql/claim_evidence_prep.sql: the front end's claim_adjustments).
-- A void's own lines are its judged rows (outcome 'voided'): each reverses the original's line with its line
-- number (negated billed, paid and adjustments, CR-style); the front end accepts a void only when it carries
-- exactly the line numbers of the original's accepted lines (rules.md Clarification 6). A replacement adds one
-- row (row_type 'reversal', outcome 'replaced') per line of the version it supersedes, also when that version
-- was judged earlier in this same period (orig_rows reads this period's judged lines too). The money a period
-- moves is sum(paid_amount) of its rows.

CREATE OR REPLACE TEMP TABLE orig_rows AS
SELECT o.* FROM claim_outcomes o
WHERE o.row_type = 'line' AND o.outcome NOT IN ('rejected', 'voided') AND o.period <= $period
  AND o.icn IN (SELECT original_icn FROM adj_this);

INSERT INTO claim_outcomes
SELECT $period, v.icn, v.line_no, 'line', '1', 'voided',
       -coalesce(o.billed_units, 0), -coalesce(o.billed_amount, 0), -coalesce(o.paid_units, 0),
       -coalesce(o.paid_amount, 0), -coalesce(o.adjusted_amount, 0), NULL, o.sa_number, o.sa_line_no,
       v.recipient_id, v.billing_provider_id, v.procedure_code, v.modifiers, v.service_key, v.service_date,
       v.received_date, o.waiver_program, v.original_icn, o.period, v.source_file, v.source_row
FROM claims v LEFT JOIN orig_rows o ON o.icn = v.original_icn AND o.line_no = v.line_no
WHERE v.period = $period AND v.adjustment_ind = '1'
ORDER BY v.icn, v.line_no;

INSERT INTO claim_outcomes
SELECT $period, o.icn, o.line_no, 'reversal', a.adjustment_ind, 'replaced',
       -o.billed_units, -o.billed_amount, -o.paid_units, -o.paid_amount, -o.adjusted_amount, NULL, o.sa_number, o.sa_line_no,
       o.recipient_id, o.billing_provider_id, o.procedure_code, o.modifiers, o.service_key, o.service_date,
       o.received_date, o.waiver_program, o.icn, o.period, o.source_file, o.source_row
FROM orig_rows o JOIN adj_this a ON a.original_icn = o.icn
WHERE a.adjustment_ind = '4'
ORDER BY o.icn, o.line_no;

INSERT INTO denial_ledger
SELECT $period, r.icn, r.line_no, r.row_type, l.rule_id, l.group_code, l.carc, l.rarc, -l.units, -l.amount,
       l.is_primary, l.message, l.citation, l.evidence, r.source_file, r.source_row
FROM claim_outcomes r
JOIN denial_ledger l ON l.period = r.reverses_period AND l.icn = r.reverses_icn AND l.line_no = r.line_no AND l.row_type = 'line'
WHERE r.period = $period AND r.outcome IN ('voided', 'replaced')
ORDER BY r.icn, r.line_no, l.rule_id;

-- Rejected claim lines: never adjudicated, but every one appears once, balanced by its FE-* rule.
INSERT INTO claim_outcomes
SELECT $period, icn, line_no, 'line', adjustment_ind, 'rejected', units, billed_amount,
       CAST(0 AS DECIMAL(12,2)), CAST(0 AS DECIMAL(12,2)), billed_amount, rule_id, NULL, NULL, NULL,
       billing_provider_id, procedure_code, NULL, NULL, NULL, received_date, NULL, NULL, NULL, source_file, source_row
FROM claims_rejected WHERE period = $period ORDER BY source_file, source_row;

INSERT INTO denial_ledger
SELECT $period, cr.icn, cr.line_no, 'line', cr.rule_id, r.group_code, r.carc, r.rarc, cr.units, cr.billed_amount,
       true, r.message, r.citation,
       json_object('source_file', cr.source_file, 'row_number', cr.source_row), cr.source_file, cr.source_row
FROM claims_rejected cr JOIN rules r ON r.rule_id = cr.rule_id
WHERE cr.period = $period ORDER BY cr.source_file, cr.source_row;
