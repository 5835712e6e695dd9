-- Once per claim run, before the buckets of sql/claim_evidence.sql: the period's lines, agreements and
-- people, each row tagged with its bucket (hash(recipient_id) % $buckets) so a bucket's facts are read
-- by an integer filter instead of hashing every row again for every bucket.
-- Parameters: $period, $sa_period, $recipients_period, $providers_period, $stays_period, $buckets. Needs svc.

CREATE OR REPLACE TEMP TABLE cur_recipients_all AS
SELECT hash(recipient_id) % $buckets AS _bucket, * FROM recipients WHERE period = $recipients_period;
CREATE OR REPLACE TEMP TABLE cur_providers AS SELECT * FROM providers WHERE period = $providers_period;
-- GEN-INPATIENT: the inpatient stays in force (snapshot), each with an id of its own (a transfer needs two stays)
CREATE OR REPLACE TEMP TABLE cur_stays_all AS
SELECT hash(recipient_id) % $buckets AS _bucket, row_number() OVER (ORDER BY source_file, source_row) AS stay_id,
       recipient_id, facility_type, admit_date, discharge_date
FROM facility_stays WHERE period = $stays_period;
CREATE OR REPLACE TEMP TABLE sa_ok_all AS   -- approved lines only: header A or T, line A
SELECT hash(s.recipient_id) % $buckets AS _bucket, s.*, svc.* EXCLUDE (service_key)
FROM sa_lines s LEFT JOIN svc USING (service_key)
WHERE s.period = $sa_period AND s.sa_status IN ('A', 'T') AND s.line_status = 'A';

-- Valid voids and replacements received this period, and the claim versions they reverse: the front end's
-- claim_adjustments (rules.md Clarification 6), with the period that judged each original and whether it is this one.
CREATE OR REPLACE TEMP TABLE adj_this AS
SELECT icn, adjustment_ind, original_icn, original_period, original_this_period FROM claim_adjustments
WHERE period = $period;

-- GEN-TIMELY (Clarification 7): originals judged earlier in this same run and paid at least in part, whose
-- replacements get the filing grace. Empty at first; claimrecon.judge fills it after judging and judges again the
-- buckets of the replacements concerned.
CREATE OR REPLACE TEMP TABLE grace_paid_originals (icn VARCHAR);

-- The lines judged this period (originals and replacements; voids only reverse).
CREATE OR REPLACE TEMP TABLE period_claims AS
SELECT hash(recipient_id) % $buckets AS _bucket, icn, line_no, adjustment_ind, original_icn, received_date,
       billing_provider_id, recipient_id, procedure_code, modifiers, service_key, service_date, units, billed_amount,
       source_file, source_row   -- (what the evidence reads: not the file hash, extra columns or codes nothing judges)
FROM claims
WHERE period = $period AND adjustment_ind IN ('0', '4');

-- Lines paid in earlier runs still standing when the period opens (not reversed in an earlier period), once per
-- claim run for every bucket (sql/claim_evidence.sql's hist reads its bucket's rows). Only what this period's lines
-- read (the month's people, days and agreement lines, not every earlier outcome): the person-days of this period's
-- lines (pools, the day's units, duplicates, aide provider, day overlap), the agreement lines of their people and
-- providers (units used), remote IHS of the people with remote lines (the remote year) and the lines this period's
-- adjustments reverse.
CREATE OR REPLACE TEMP TABLE hist_all AS
SELECT hash(o.recipient_id) % $buckets AS _bucket, o.*
FROM claim_outcomes o
WHERE o.period < $period AND o.row_type = 'line' AND o.paid_units > 0
  AND ((o.recipient_id, o.service_date) IN (SELECT recipient_id, service_date FROM period_claims)
       OR (o.sa_number, o.sa_line_no) IN (SELECT s.sa_number, s.line_no FROM sa_ok_all s SEMI JOIN period_claims j
                                          ON s.recipient_id = j.recipient_id AND s.provider_id = j.billing_provider_id)
       OR o.recipient_id IN (SELECT k.recipient_id FROM period_claims k JOIN svc USING (service_key) WHERE svc.is_ihs_remote)
       OR o.icn IN (SELECT original_icn FROM adj_this))
  AND o.icn NOT IN (SELECT reverses_icn FROM claim_outcomes WHERE period < $period AND reverses_icn IS NOT NULL);
