-- Parameters: $period, $buckets: each contact is tagged with its person's bucket (hash(recipient_id) %
-- $buckets); judging reads one bucket of people at a time to bound memory.
-- Service logs are cumulative: the latest version of each contact known at this period (sql/latest_contacts.sql).
-- Real start and end instants (UTC) and elapsed minutes are derived here from the documented clock times with
-- the America/Chicago offsets (tz_days and the macro local_utc, claimrecon/judge.py; rules.md Clarification 1),
-- whatever a contact loaded by an earlier version of claimrecon stored, so every period compares like with like.
-- An end earlier on the clock than the start ran past midnight.
CREATE OR REPLACE TEMP TABLE cur_contacts AS
WITH latest AS (SELECT * FROM latest_contacts($period)),
-- Contacts of earlier periods are kept only where they can touch a contact judged now (the month's people and
-- staff, not every earlier contact): on a judged person's day or the day before or after (overlaps, concurrent
-- services, the day's ADL share: sql/contact_evidence.sql) or on a judged contact's staff member's (staff overlap:
-- sql/contact_overlaps.sql). Judged: this period's contacts and those on the person-days this period's claims bill.
older AS (SELECT * FROM latest WHERE period <> $period),
near AS (
    SELECT DISTINCT 'P' AS kind, j.recipient_id AS who, j.service_date + k.k AS d
    FROM (SELECT recipient_id, service_date FROM latest WHERE period = $period
          UNION ALL SELECT recipient_id, service_date FROM claims WHERE period = $period) j,
         (SELECT unnest([-1, 0, 1]) AS k) k
    WHERE j.recipient_id IN (SELECT recipient_id FROM older)
    UNION ALL
    SELECT DISTINCT 'S', j.staff_id, j.service_date + k.k
    FROM (SELECT staff_id, service_date FROM latest WHERE period = $period
          UNION ALL SELECT o.staff_id, o.service_date FROM older o
          WHERE (o.recipient_id, o.service_date) IN (SELECT recipient_id, service_date FROM claims WHERE period = $period)) j,
         (SELECT unnest([-1, 0, 1]) AS k) k
    WHERE j.staff_id IN (SELECT staff_id FROM older)),
kept AS (
    SELECT * FROM latest WHERE period = $period
    UNION ALL
    SELECT * FROM older
    WHERE (recipient_id, service_date) IN (SELECT who, d FROM near WHERE kind = 'P')
       OR (staff_id, service_date) IN (SELECT who, d FROM near WHERE kind = 'S')),
real AS (
    SELECT l.*,
           local_utc(l.service_date, l.start_minute, a.off0, a.change, a.off1) AS start_ts,
           local_utc(l.service_date + CASE WHEN l.end_minute < l.start_minute THEN 1 ELSE 0 END, l.end_minute,
                     b.off0, b.change, b.off1) AS end_ts
    FROM kept l
    JOIN tz_days a ON a.local_date = l.service_date
    JOIN tz_days b ON b.local_date = l.service_date + CASE WHEN l.end_minute < l.start_minute THEN 1 ELSE 0 END)
-- (the front end rejects a contact that ends before it begins in real time; one loaded before that edit existed
-- lasts 0 minutes rather than a negative length)
-- Only the columns the rules read: the narrative as whether there is one (TCM-FLAG), no provenance (the judging
-- steps scan this table once per bucket: a narrow row is what keeps that cheap).
SELECT period, provider_id, log_id, staff_id, recipient_id, procedure_code, modifiers, service_key, service_date,
       start_minute, minutes, delivery_mode, contact_method, two_way, activity, staff_location, ratio, tcm_flag,
       (narrative IS NOT NULL AND trim(narrative) <> '') AS has_narrative,
       start_ts, greatest(end_ts, start_ts) AS end_ts,
       CAST(greatest(date_diff('minute', start_ts, end_ts), 0) AS INTEGER) AS duration_minutes,
       hash(recipient_id) % $buckets AS _bucket
FROM real;


-- The person-dates this period's claims bill (their contacts are in scope whenever they were logged).
CREATE OR REPLACE TEMP TABLE claim_days AS
SELECT DISTINCT hash(recipient_id) % $buckets AS _bucket, recipient_id, service_date FROM claims WHERE period = $period;
