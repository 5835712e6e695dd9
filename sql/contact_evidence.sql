-- Evidence for the service-log contracts (contracts/service_logs.py), one row per contact in scope.
-- Parameters: $period, $bucket, $buckets, $staff_period, $recipients_period, $providers_period,
--             $sleep_start (minutes after midnight), $sleep_end (minutes after midnight).
-- Facts only: the contract decides. Intervals are real instants (UTC, contracts/clock.py): across midnight and
-- clock changes. Needs svc/svc_code (sql/service_groups.sql), cur_contacts/claim_days (sql/current_contacts.sql),
-- ov_lost (sql/contact_overlaps.sql, once per period over every bucket) and tz_days/local_utc (claimrecon/judge.py).

-- (sql/service_groups.sql has made the temp table svc.)

-- (sql/current_contacts.sql has made the temp table cur_contacts, tagged by bucket of people: every fact
-- below is about one person's contacts, so a bucket is judged on its own -- except the staff overlap, which
-- crosses people and was computed once for the period over every bucket: ov_lost, sql/contact_overlaps.sql.)

-- In scope: contacts loaded this period, and any contact on a person-date this period's claims bill.
CREATE OR REPLACE TEMP TABLE scope_contacts AS
SELECT c.* FROM cur_contacts c WHERE c._bucket = $bucket AND c.period = $period
UNION ALL   -- (an OR would test every contact against the claim days; only earlier periods' need it)
SELECT c.* FROM cur_contacts c
WHERE c._bucket = $bucket AND c.period <> $period
  AND (c.recipient_id, c.service_date) IN (SELECT recipient_id, service_date FROM claim_days WHERE _bucket = $bucket);

CREATE OR REPLACE TEMP TABLE cur_staff AS SELECT * FROM staff WHERE period = $staff_period;
CREATE OR REPLACE TEMP TABLE cur_recipients AS SELECT * FROM recipients WHERE period = $recipients_period;
CREATE OR REPLACE TEMP TABLE cur_providers AS SELECT * FROM providers WHERE period = $providers_period;

-- Merged intervals of services that cannot be delivered at the same time as IHS (any provider).
CREATE OR REPLACE TEMP TABLE conflict_iv AS
WITH iv AS (
    SELECT c.recipient_id, c.start_ts AS s, c.end_ts AS e
    FROM cur_contacts c JOIN svc USING (service_key)
    WHERE c._bucket = $bucket AND svc.not_with_ihs
      AND c.recipient_id IN (SELECT recipient_id FROM scope_contacts sc JOIN svc s2 USING (service_key) WHERE s2.is_ihs)),
ordered AS (
    SELECT *, max(e) OVER (PARTITION BY recipient_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_e
    FROM iv),
grouped AS (
    SELECT *, sum(CASE WHEN prev_e IS NULL OR s > prev_e THEN 1 ELSE 0 END)
              OVER (PARTITION BY recipient_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS g
    FROM ordered)
SELECT recipient_id, min(s) AS s, max(e) AS e FROM grouped GROUP BY recipient_id, g;

-- The person's primary sleeping hours on the contact's date (span covering the date, else defaults),
-- as three windows (the night before, the night of, the night after) so overnight contacts are exact.
-- Sleeping hours are clock times: each window edge is turned into a real instant (UTC) with the day's
-- America/Chicago offsets (tz_days, from contracts/clock.py), so a window on a clock-change night is exact.
CREATE OR REPLACE TEMP TABLE sleep_iv AS
WITH person AS (
    SELECT sc.provider_id, sc.log_id, sc.service_date,
           coalesce(any_value(hour(CAST(r.sleep_start AS TIME)) * 60 + minute(CAST(r.sleep_start AS TIME))), $sleep_start) AS ss,
           coalesce(any_value(hour(CAST(r.sleep_end AS TIME)) * 60 + minute(CAST(r.sleep_end AS TIME))), $sleep_end) AS se
    FROM scope_contacts sc JOIN svc USING (service_key)
    LEFT JOIN cur_recipients r ON r.recipient_id = sc.recipient_id
         AND sc.service_date BETWEEN r.span_start AND coalesce(r.span_end, DATE '9999-12-31')
         AND r.sleep_start IS NOT NULL AND r.sleep_end IS NOT NULL
    WHERE svc.is_ihs AND sc.activity = 'supervision'
    GROUP BY ALL),
win AS (
    SELECT provider_id, log_id, ss, se, CAST(service_date + INTERVAL (d) DAY AS DATE) AS sd,
           CAST(service_date + INTERVAL (d + CASE WHEN se > ss THEN 0 ELSE 1 END) DAY AS DATE) AS ed
    FROM person, (SELECT unnest([-1, 0, 1]) AS d))
SELECT w.provider_id, w.log_id, local_utc(w.sd, w.ss, a.off0, a.change, a.off1) AS s,
       local_utc(w.ed, w.se, b.off0, b.change, b.off1) AS e
FROM win w JOIN tz_days a ON a.local_date = w.sd JOIN tz_days b ON b.local_date = w.ed;

-- The minutes each interval rule claims, per contact in scope, as real-time intervals, ranked in the log
-- table's order: GEN-STAFF-OVERLAP (1), GEN-PERSON-OVERLAP (2), IHS-CONCURRENT (3), IHS-SLEEP (4).
CREATE OR REPLACE TEMP TABLE rule_iv AS
SELECT l.provider_id, l.log_id, CASE l.kind WHEN 'S' THEN 1 ELSE 2 END AS rnk, l.s, l.e  -- GEN-STAFF-OVERLAP, GEN-PERSON-OVERLAP
FROM ov_lost l JOIN scope_contacts sc USING (provider_id, log_id)
UNION ALL
SELECT sc.provider_id, sc.log_id, 3, greatest(sc.start_ts, iv.s), least(sc.end_ts, iv.e)  -- IHS-CONCURRENT
FROM scope_contacts sc JOIN svc USING (service_key)
JOIN conflict_iv iv ON iv.recipient_id = sc.recipient_id AND iv.s < sc.end_ts AND iv.e > sc.start_ts
WHERE svc.is_ihs
UNION ALL
SELECT sc.provider_id, sc.log_id, 4, greatest(sc.start_ts, w.s), least(sc.end_ts, w.e)  -- IHS-SLEEP
FROM scope_contacts sc JOIN sleep_iv w USING (provider_id, log_id)
WHERE w.s < sc.end_ts AND w.e > sc.start_ts;

-- Each minute is removed once: cut each contact's rule intervals into elementary segments; a segment's
-- minutes belong to the first rule (lowest rank) that claims them (net); gross = every minute a rule claims.
CREATE OR REPLACE TEMP TABLE iv_minutes AS
WITH pts AS (SELECT provider_id, log_id, s AS t FROM rule_iv UNION SELECT provider_id, log_id, e FROM rule_iv),
seg AS (SELECT provider_id, log_id, t AS s, lead(t) OVER (PARTITION BY provider_id, log_id ORDER BY t) AS e FROM pts),
cov AS (
    SELECT DISTINCT seg.provider_id, seg.log_id, seg.s, date_diff('minute', seg.s, seg.e) AS m, r.rnk
    FROM seg JOIN rule_iv r ON r.provider_id = seg.provider_id AND r.log_id = seg.log_id AND r.s <= seg.s AND r.e >= seg.e
    WHERE seg.e IS NOT NULL AND seg.e > seg.s),
firstr AS (SELECT provider_id, log_id, s, any_value(m) AS m, min(rnk) AS rnk FROM cov GROUP BY ALL),
gross AS (
    SELECT provider_id, log_id,
           sum(m) FILTER (rnk = 1) AS staff_overlap_minutes, sum(m) FILTER (rnk = 2) AS person_overlap_minutes,
           sum(m) FILTER (rnk = 3) AS overlap_minutes, sum(m) FILTER (rnk = 4) AS sleep_minutes
    FROM cov GROUP BY ALL),
net AS (
    SELECT provider_id, log_id, sum(m) FILTER (rnk = 2) AS person_overlap_net, sum(m) FILTER (rnk = 3) AS overlap_net,
           sum(m) FILTER (rnk = 4) AS sleep_net
    FROM firstr GROUP BY ALL)
SELECT * FROM gross JOIN net USING (provider_id, log_id);

-- IHS-NONCOVERED (revision 2): the day's documented IHS minutes per person, provider and service_date, and
-- how many of them were adl_support (every IHS option and delivery mode, whether billable or not; a contact
-- counts on its service_date, Clarifications 2 and 16). ADL is not covered when MORE than half.
CREATE OR REPLACE TEMP TABLE adl_day AS
SELECT c.recipient_id, c.provider_id, c.service_date,
       coalesce(sum(c.duration_minutes) FILTER (c.activity = 'adl_support'), 0) AS adl_minutes_day,
       sum(c.duration_minutes) AS ihs_minutes_day
FROM cur_contacts c JOIN svc USING (service_key)
WHERE c._bucket = $bucket AND svc.is_ihs
  AND (c.recipient_id, c.provider_id, c.service_date) IN (SELECT recipient_id, provider_id, service_date FROM scope_contacts)
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE contact_evidence AS
WITH sup AS (  -- an aide's supervisor must be an active case manager on the date
    SELECT sc.provider_id, sc.log_id,
           bool_or(sv.role = 'case_manager' AND sc.service_date >= sv.hire_date
                   AND sc.service_date <= coalesce(sv.end_date, DATE '9999-12-31')) AS supervised
    FROM scope_contacts sc JOIN cur_staff st ON st.staff_id = sc.staff_id
    LEFT JOIN cur_staff sv ON sv.staff_id = st.supervisor_staff_id
    GROUP BY ALL)
SELECT sc.provider_id, sc.log_id, sc.recipient_id, sc.staff_id, sc.service_key, sc.procedure_code, sc.modifiers,
       sc.service_date, sc.duration_minutes, sc.minutes, sc.delivery_mode, sc.contact_method, sc.two_way, sc.activity,
       sc.staff_location, sc.ratio, sc.tcm_flag,
       sc.has_narrative,
       coalesce(svc.is_ihs, false) AS is_ihs,
       -- Clarification 15: the remote contracts apply to every IHS contact delivered remotely, whatever its code
       coalesce(svc.is_ihs AND sc.delivery_mode = 'remote', false) AS is_remote_ihs,
       coalesce(svc.is_cm, false) AS is_cm,
       coalesce(svc.is_cma, false) AS is_cma,
       coalesce(svc.is_tcm, false) AS is_tcm,
       -- IHS-DELIVERY-CODE, IHS-RATIO-CODE: the catalog's delivery and ratio of the code + modifiers documented
       cd.code_delivery, cd.code_ratio,
       st.staff_id IS NOT NULL AS on_roster,
       st.role AS staff_role,  -- CM-STAFF, TCM-STAFF (only staff on the roster: otherwise GEN-STAFF, Clarification 15)
       coalesce(st.role = 'case_management_aide', false) AS is_aide,
       coalesce(st.provider_id = sc.provider_id AND sc.service_date >= st.hire_date
                AND sc.service_date <= coalesce(st.end_date, DATE '9999-12-31'), false) AS employed_on_date,
       coalesce(st.background_study_date <= sc.service_date, false) AS background_cleared,
       coalesce(st.high_school_graduate = 'Y', false) AS hs_graduate,
       coalesce(st.qualifying_experience_months >= 12 OR st.postsecondary_years >= 1, false) AS experience_ok,
       coalesce(sup.supervised, false) AS supervised,
       coalesce(p.case_management_agency = 'Y', false) AS employer_cm_agency,
       -- GEN-STAFF-OVERLAP, GEN-PERSON-OVERLAP, IHS-CONCURRENT, IHS-SLEEP: minutes claimed (gross) and, net of
       -- the interval rules before them in table order, the minutes each removes
       coalesce(iv.staff_overlap_minutes, 0) AS staff_overlap_minutes,
       coalesce(iv.person_overlap_minutes, 0) AS person_overlap_minutes,
       coalesce(iv.person_overlap_net, 0) AS person_overlap_net,
       coalesce(iv.overlap_minutes, 0) AS overlap_minutes,
       coalesce(iv.overlap_net, 0) AS overlap_net,
       coalesce(iv.sleep_minutes, 0) AS sleep_minutes,
       coalesce(iv.sleep_net, 0) AS sleep_net,
       -- IHS-NONCOVERED: ADL more than half of the day's IHS minutes with this provider (integers: no rounding)
       coalesce(adl.adl_minutes_day, 0) AS adl_minutes_day,
       coalesce(adl.ihs_minutes_day, 0) AS ihs_minutes_day,
       coalesce(2 * adl.adl_minutes_day > adl.ihs_minutes_day, false) AS adl_primary
FROM scope_contacts sc
LEFT JOIN svc USING (service_key)
LEFT JOIN svc_code cd ON cd.procedure_code = sc.procedure_code AND cd.modifiers = sc.modifiers
LEFT JOIN cur_staff st ON st.staff_id = sc.staff_id
LEFT JOIN cur_providers p ON p.provider_id = st.provider_id
LEFT JOIN iv_minutes iv ON iv.provider_id = sc.provider_id AND iv.log_id = sc.log_id
LEFT JOIN adl_day adl ON adl.recipient_id = sc.recipient_id AND adl.provider_id = sc.provider_id
     AND adl.service_date = sc.service_date
LEFT JOIN sup ON sup.provider_id = sc.provider_id AND sup.log_id = sc.log_id
ORDER BY sc.provider_id, sc.log_id;
