-- Evidence for the service-log contracts (contracts/service_logs.py), one row per contact in scope.
-- Parameters: $period, $bucket, $buckets, $staff_period, $recipients_period, $providers_period,
--             $sleep_start (minutes after midnight), $sleep_end (minutes after midnight).
-- Facts only: the contract decides. Intervals are real timestamps; an end before the start ran past midnight.

-- (sql/service_groups.sql has made the temp table svc.)

-- (sql/current_contacts.sql has made the temp table cur_contacts, tagged by bucket of people: every fact
-- below is about one person's contacts, so a bucket is judged on its own.)

-- In scope: contacts loaded this period, and any contact on a person-date this period's claims bill.
CREATE OR REPLACE TEMP TABLE scope_contacts AS
SELECT c.* FROM cur_contacts c
WHERE c._bucket = $bucket
  AND (c.period = $period
       OR (c.recipient_id, c.service_date) IN (SELECT recipient_id, service_date FROM claim_days WHERE _bucket = $bucket));

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
    GROUP BY ALL)
SELECT provider_id, log_id,
       CAST(service_date + INTERVAL (d) DAY AS TIMESTAMP) + to_minutes(ss) AS s,
       CAST(service_date + INTERVAL (d) DAY AS TIMESTAMP) + to_minutes(ss)
           + to_minutes(CASE WHEN se > ss THEN se - ss ELSE se + 1440 - ss END) AS e
FROM person, (SELECT unnest([-1, 0, 1]) AS d);

CREATE OR REPLACE TEMP TABLE contact_evidence AS
WITH conc AS (
    SELECT sc.provider_id, sc.log_id,
           sum(date_diff('minute', greatest(sc.start_ts, iv.s), least(sc.end_ts, iv.e))) AS overlap_minutes
    FROM scope_contacts sc JOIN svc USING (service_key)
    JOIN conflict_iv iv ON iv.recipient_id = sc.recipient_id AND iv.s < sc.end_ts AND iv.e > sc.start_ts
    WHERE svc.is_ihs
    GROUP BY ALL),
sleep AS (
    SELECT sc.provider_id, sc.log_id,
           sum(date_diff('minute', greatest(sc.start_ts, w.s), least(sc.end_ts, w.e))) AS sleep_minutes
    FROM scope_contacts sc JOIN sleep_iv w USING (provider_id, log_id)
    WHERE w.s < sc.end_ts AND w.e > sc.start_ts
    GROUP BY ALL),
both_ AS (  -- minutes both concurrent and in sleeping hours (so IHS-SLEEP does not count them twice)
    SELECT sc.provider_id, sc.log_id,
           sum(date_diff('minute', greatest(sc.start_ts, iv.s, w.s), least(sc.end_ts, iv.e, w.e))) AS sleep_conc_minutes
    FROM scope_contacts sc
    JOIN sleep_iv w USING (provider_id, log_id)
    JOIN conflict_iv iv ON iv.recipient_id = sc.recipient_id
    WHERE greatest(sc.start_ts, iv.s, w.s) < least(sc.end_ts, iv.e, w.e)
    GROUP BY ALL),
sup AS (  -- an aide's supervisor must be an active case manager on the date
    SELECT sc.provider_id, sc.log_id,
           bool_or(sv.role = 'case_manager' AND sc.service_date >= sv.hire_date
                   AND sc.service_date <= coalesce(sv.end_date, DATE '9999-12-31')) AS supervised
    FROM scope_contacts sc JOIN cur_staff st ON st.staff_id = sc.staff_id
    LEFT JOIN cur_staff sv ON sv.staff_id = st.supervisor_staff_id
    GROUP BY ALL)
SELECT sc.provider_id, sc.log_id, sc.recipient_id, sc.staff_id, sc.service_key, sc.procedure_code, sc.modifiers,
       sc.service_date, sc.duration_minutes, sc.minutes, sc.delivery_mode, sc.contact_method, sc.two_way, sc.activity,
       sc.staff_location, sc.ratio, sc.tcm_flag,
       (sc.narrative IS NOT NULL AND trim(sc.narrative) <> '') AS has_narrative,
       coalesce(svc.is_ihs, false) AS is_ihs,
       coalesce(svc.is_ihs AND (svc.is_ihs_remote OR sc.delivery_mode = 'remote'), false) AS is_remote_ihs,
       coalesce(svc.is_cm, false) AS is_cm,
       coalesce(svc.is_cma, false) AS is_cma,
       coalesce(svc.is_tcm, false) AS is_tcm,
       st.staff_id IS NOT NULL AS on_roster,
       st.role AS staff_role,
       coalesce(st.role = 'case_management_aide', false) AS is_aide,
       coalesce(st.provider_id = sc.provider_id AND sc.service_date >= st.hire_date
                AND sc.service_date <= coalesce(st.end_date, DATE '9999-12-31'), false) AS employed_on_date,
       coalesce(st.background_study_date <= sc.service_date, false) AS background_cleared,
       coalesce(st.high_school_graduate = 'Y', false) AS hs_graduate,
       coalesce(st.qualifying_experience_months >= 12 OR st.postsecondary_years >= 1, false) AS experience_ok,
       coalesce(sup.supervised, false) AS supervised,
       coalesce(p.case_management_agency = 'Y', false) AS employer_cm_agency,
       coalesce(conc.overlap_minutes, 0) AS overlap_minutes,
       coalesce(sleep.sleep_minutes, 0) AS sleep_minutes,
       coalesce(both_.sleep_conc_minutes, 0) AS sleep_conc_minutes
FROM scope_contacts sc
LEFT JOIN svc USING (service_key)
LEFT JOIN cur_staff st ON st.staff_id = sc.staff_id
LEFT JOIN cur_providers p ON p.provider_id = st.provider_id
LEFT JOIN conc ON conc.provider_id = sc.provider_id AND conc.log_id = sc.log_id
LEFT JOIN sleep ON sleep.provider_id = sc.provider_id AND sleep.log_id = sc.log_id
LEFT JOIN both_ ON both_.provider_id = sc.provider_id AND both_.log_id = sc.log_id
LEFT JOIN sup ON sup.provider_id = sc.provider_id AND sup.log_id = sc.log_id
ORDER BY sc.provider_id, sc.log_id;
