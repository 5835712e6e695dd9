-- Compliance findings: reported, never denied. One row per finding with its evidence.
-- Parameters: $period, $period_start, $period_end, $sa_period, $staff_period, $remote_cap, $daily_cap,
--             $daily_equiv, $unbilled_days, $caseload_max, $training_min.
-- Needs svc (sql/service_groups.sql) and the macro latest_contacts (sql/latest_contacts.sql).

CREATE OR REPLACE TEMP TABLE f_sa AS
SELECT s.*, svc.* EXCLUDE (service_key), date_diff('day', s.start_date, s.end_date) + 1 AS span_days
FROM sa_lines s LEFT JOIN svc USING (service_key)
WHERE s.period = $sa_period AND s.sa_status IN ('A', 'T') AND s.line_status = 'A';

DELETE FROM findings WHERE period = $period;

-- The latest version of each contact known at the period: the columns the findings read.
CREATE OR REPLACE TEMP TABLE f_contacts AS
SELECT period, provider_id, log_id, staff_id, recipient_id, procedure_code, modifiers, service_key, service_date,
       delivery_mode
FROM latest_contacts($period);

-- IHS-WEEKLY-INPERSON: a Monday-Sunday week with remote IHS (documented this period) and no in-person IHS contact.
INSERT INTO findings
SELECT $period, 'IHS-WEEKLY-INPERSON', w.recipient_id, w.provider_id, NULL, NULL, NULL, w.week_start, r.message, r.citation,
       json_object('week_start', w.week_start, 'remote_contacts', w.n_remote)
FROM (SELECT c.recipient_id, min(c.provider_id) AS provider_id, date_trunc('week', c.service_date) AS week_start, count(*) AS n_remote
      FROM f_contacts c JOIN svc USING (service_key)
      WHERE c.period = $period AND svc.is_ihs AND (svc.is_ihs_remote OR c.delivery_mode = 'remote')
      GROUP BY c.recipient_id, date_trunc('week', c.service_date)) w
JOIN rules r ON r.rule_id = 'IHS-WEEKLY-INPERSON'
WHERE NOT EXISTS (SELECT 1 FROM f_contacts c2 JOIN svc s2 USING (service_key)
                  WHERE c2.recipient_id = w.recipient_id AND s2.is_ihs_in_person AND c2.delivery_mode = 'in_person'
                    AND date_trunc('week', c2.service_date) = w.week_start)
ORDER BY w.recipient_id, w.week_start;

-- AUTH-REMOTE-ONLY: an approved remote IHS line with no overlapping in-person IHS line.
INSERT INTO findings
SELECT $period, 'AUTH-REMOTE-ONLY', a.recipient_id, a.provider_id, NULL, a.sa_number, a.line_no, a.start_date, r.message, r.citation,
       json_object('service_key', a.service_key, 'start_date', a.start_date, 'end_date', a.end_date)
FROM f_sa a JOIN rules r ON r.rule_id = 'AUTH-REMOTE-ONLY'
WHERE a.is_ihs_remote AND NOT EXISTS (
    SELECT 1 FROM f_sa b WHERE b.recipient_id = a.recipient_id AND b.is_ihs_in_person
      AND b.start_date <= a.end_date AND b.end_date >= a.start_date)
ORDER BY a.sa_number, a.line_no;

-- AUTH-DAY-OVERLAP: IHS-with-training daily and 15-minute lines that overlap.
INSERT INTO findings
SELECT $period, 'AUTH-DAY-OVERLAP', a.recipient_id, a.provider_id, NULL, a.sa_number, a.line_no, greatest(a.start_date, b.start_date),
       r.message, r.citation,
       json_object('daily_line', a.sa_number || '-' || a.line_no, 'quarter_hour_line', b.sa_number || '-' || b.line_no)
FROM f_sa a JOIN f_sa b ON a.recipient_id = b.recipient_id AND a.is_wt AND a.is_daily AND b.is_wt AND b.is_ihs_in_person
     AND NOT b.is_daily AND b.start_date <= a.end_date AND b.end_date >= a.start_date
JOIN rules r ON r.rule_id = 'AUTH-DAY-OVERLAP'
ORDER BY a.sa_number, a.line_no, b.sa_number, b.line_no;

-- AUTH-REMOTE-OVER-CAP: per PERSON and remote-support year, as IHS-REMOTE-CAP counts it (rules.md revision 2):
-- consecutive 365-day years from the earliest start of the person's approved remote IHS lines; the units authorized
-- on the remote lines overlapping the year (a line running into several years spread evenly over its days, in
-- hundredths of a unit, rounded down) above 2,920 plus the largest exception of those lines. No proration of the cap.
INSERT INTO findings
WITH rf AS (SELECT recipient_id, min(start_date) AS first_start FROM f_sa WHERE is_ihs_remote GROUP BY ALL),
yl AS (   -- each remote line in each remote year it overlaps
    SELECT a.*, rf.first_start, y.k,
           CAST(rf.first_start + to_days(CAST(365 * y.k AS INTEGER)) AS DATE) AS ys,
           CAST(rf.first_start + to_days(CAST(365 * y.k + 364 AS INTEGER)) AS DATE) AS ye
    FROM f_sa a JOIN rf USING (recipient_id),
         unnest(range(date_diff('day', rf.first_start, a.start_date) // 365,
                      date_diff('day', rf.first_start, a.end_date) // 365 + 1)) AS y(k)
    WHERE a.is_ihs_remote),
over AS (   -- the person-years over the cap (the sums first: the evidence below is only for these)
    SELECT * FROM (
        SELECT recipient_id, ys,
               sum(CAST(authorized_units * 100 AS BIGINT) * (date_diff('day', greatest(start_date, ys), least(end_date, ye)) + 1)
                   // span_days) AS units_x100,
               $remote_cap + max(remote_exception_units) AS cap
        FROM yl GROUP BY ALL)
    WHERE units_x100 > cap * 100),
py AS (
    SELECT o.recipient_id, o.ys, o.units_x100, o.cap,
           arg_min(yl.provider_id, (yl.start_date, yl.sa_number, yl.line_no)) AS provider_id,
           arg_min(yl.sa_number, (yl.start_date, yl.sa_number, yl.line_no)) AS sa_number,
           arg_min(yl.line_no, (yl.start_date, yl.sa_number, yl.line_no)) AS line_no,
           string_agg(yl.sa_number || '-' || yl.line_no, ' ' ORDER BY yl.start_date, yl.sa_number, yl.line_no) AS lines
    FROM over o JOIN yl USING (recipient_id, ys) GROUP BY ALL)
SELECT $period, 'AUTH-REMOTE-OVER-CAP', py.recipient_id, py.provider_id, NULL, py.sa_number, py.line_no, py.ys, r.message, r.citation,
       json_object('remote_year_start', py.ys, 'authorized_units', CAST(CAST(py.units_x100 AS DECIMAL(18,0)) * 0.01 AS DECIMAL(18,2)), 'cap', py.cap, 'lines', py.lines)
FROM py JOIN rules r ON r.rule_id = 'AUTH-REMOTE-OVER-CAP'
ORDER BY py.recipient_id, py.ys;

-- AUTH-DAILY-OVER-CAP: in-person IHS authorized above 64 units a day on average over the span.
INSERT INTO findings
SELECT $period, 'AUTH-DAILY-OVER-CAP', a.recipient_id, a.provider_id, NULL, a.sa_number, a.line_no, a.start_date, r.message, r.citation,
       json_object('authorized_units', a.authorized_units, 'span_days', a.span_days)
FROM f_sa a JOIN rules r ON r.rule_id = 'AUTH-DAILY-OVER-CAP'
WHERE a.is_ihs_in_person AND a.authorized_units * (CASE WHEN a.is_daily THEN $daily_equiv ELSE 1 END) > $daily_cap * a.span_days
ORDER BY a.sa_number, a.line_no;

-- AUTH-MAX-DEFAULT (revision 2): an in-person IHS line of 15-minute units authorizing exactly the daily maximum
-- (64 units) on every day of its span: the lead agency must not default to the maximum allowable amount. Daily-unit
-- lines are left out (one unit a day is the only amount a daily line can carry).
INSERT INTO findings
SELECT $period, 'AUTH-MAX-DEFAULT', a.recipient_id, a.provider_id, NULL, a.sa_number, a.line_no, a.start_date, r.message, r.citation,
       json_object('authorized_units', a.authorized_units, 'span_days', a.span_days, 'daily_max', $daily_cap)
FROM f_sa a JOIN rules r ON r.rule_id = 'AUTH-MAX-DEFAULT'
WHERE a.is_ihs_in_person AND NOT a.is_daily AND a.authorized_units = $daily_cap * a.span_days
ORDER BY a.sa_number, a.line_no;

-- AUTH-RESIDENTIAL: IHS authorized beside CRS, customized living, FRS or ICS outside the exceptions
-- (without training beside CRS/FRS, or with training beside customized living, from a separate provider).
INSERT INTO findings
SELECT $period, 'AUTH-RESIDENTIAL', a.recipient_id, a.provider_id, NULL, a.sa_number, a.line_no, greatest(a.start_date, b.start_date),
       r.message, r.citation, json_object('ihs_line', a.sa_number || '-' || a.line_no, 'residential', b.service_key)
FROM f_sa a JOIN f_sa b ON a.recipient_id = b.recipient_id AND a.is_ihs AND b.residential
     AND b.start_date <= a.end_date AND b.end_date >= a.start_date
JOIN rules r ON r.rule_id = 'AUTH-RESIDENTIAL'
WHERE NOT ((a.is_wot AND b.res_crs_frs AND a.provider_id <> b.provider_id)
        OR (a.is_wt AND b.res_cust_living AND a.provider_id <> b.provider_id))
ORDER BY a.sa_number, a.line_no, b.sa_number;

-- IL-CASELOAD (revision 2): the distinct people whose approved agreement lines covering any day of the month name
-- the case manager (case_manager_id), together with the people the case manager documented contacts for this
-- period; more than 30 is a finding. The case manager is a roster case manager or any staff id an agreement names.
INSERT INTO findings
WITH caseload AS (
    SELECT case_manager_id AS staff_id, recipient_id, 'agreement' AS via FROM f_sa
    WHERE case_manager_id IS NOT NULL AND case_manager_id <> ''
      AND start_date <= CAST($period_end AS DATE) AND end_date >= CAST($period_start AS DATE)
    UNION ALL
    SELECT c.staff_id, c.recipient_id, 'contact' FROM f_contacts c
    JOIN staff st ON st.period = $staff_period AND st.staff_id = c.staff_id AND st.role = 'case_manager'
    WHERE c.period = $period)
SELECT $period, 'IL-CASELOAD', NULL, st.provider_id, k.staff_id, NULL, NULL, NULL, r.message, r.citation,
       json_object('people_served', count(DISTINCT k.recipient_id),
                   'people_on_agreements', count(DISTINCT k.recipient_id) FILTER (k.via = 'agreement'),
                   'people_with_contacts', count(DISTINCT k.recipient_id) FILTER (k.via = 'contact'))
FROM caseload k
LEFT JOIN (SELECT staff_id, any_value(provider_id) AS provider_id FROM staff WHERE period = $staff_period GROUP BY 1) st
     USING (staff_id)
JOIN rules r ON r.rule_id = 'IL-CASELOAD'
GROUP BY st.provider_id, k.staff_id, r.message, r.citation
HAVING count(DISTINCT k.recipient_id) > $caseload_max
ORDER BY k.staff_id;

-- IL-TRAINING: an active case manager with fewer than 12 in-service training hours in the last 12 months.
INSERT INTO findings
SELECT $period, 'IL-TRAINING', NULL, s.provider_id, s.staff_id, NULL, NULL, NULL, r.message, r.citation,
       json_object('training_hours_12m', coalesce(s.training_hours_12m, 0))
FROM staff s JOIN rules r ON r.rule_id = 'IL-TRAINING'
WHERE s.period = $staff_period AND s.role = 'case_manager' AND coalesce(s.end_date, DATE '9999-12-31') >= $period_start
  AND coalesce(s.training_hours_12m, 0) < $training_min
ORDER BY s.staff_id;

-- UNBILLED-SERVICE: billable contacts that turned 60 days old during this period with no claim for them.
INSERT INTO findings
SELECT $period, 'UNBILLED-SERVICE', b.recipient_id, b.provider_id, NULL, NULL, NULL, b.service_date, r.message, r.citation,
       json_object('log_id', b.log_id, 'billable_minutes', b.billable_minutes, 'service_key', b.service_key)
-- (the contact's latest judgement: the dates are tested on the latest version, so a version is first picked among
-- every version of the contacts that have one in the date window)
FROM (SELECT * EXCLUDE (rn) FROM (
          SELECT lb.*, row_number() OVER (PARTITION BY provider_id, log_id ORDER BY period DESC) rn
          FROM log_billability lb WHERE period <= $period AND (provider_id, log_id) IN (
              SELECT provider_id, log_id FROM log_billability WHERE period <= $period
                AND service_date >= CAST(CAST($period_start AS DATE) - to_days($unbilled_days) AS DATE)
                AND service_date <= CAST(CAST($period_end AS DATE) - to_days($unbilled_days) AS DATE)))
      WHERE rn = 1) b
JOIN f_contacts c USING (provider_id, log_id)
JOIN rules r ON r.rule_id = 'UNBILLED-SERVICE'
WHERE b.billable_minutes > 0
  AND b.service_date >= CAST(CAST($period_start AS DATE) - to_days($unbilled_days) AS DATE)
  AND b.service_date <= CAST(CAST($period_end AS DATE) - to_days($unbilled_days) AS DATE)
  AND NOT EXISTS (SELECT 1 FROM claims k WHERE k.period <= $period AND k.recipient_id = c.recipient_id
                  AND k.billing_provider_id = c.provider_id AND k.procedure_code = c.procedure_code
                  AND k.modifiers = c.modifiers AND k.service_date = c.service_date)
ORDER BY b.provider_id, b.log_id;

-- A finding counts only where its rule is in force (the catalog's effective dates) on its subject date,
-- or on the period's last day for findings about a month (caseload, training).
DELETE FROM findings f
WHERE f.period = $period AND EXISTS (
    SELECT 1 FROM rules r WHERE r.rule_id = f.rule_id
      AND NOT (coalesce(f.subject_date, CAST($period_end AS DATE)) BETWEEN r.effective_from
               AND coalesce(r.effective_to, DATE '9999-12-31')));
