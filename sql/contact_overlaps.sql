-- GEN-STAFF-OVERLAP and GEN-PERSON-OVERLAP (rules.md revision 2, Clarification 16): the minutes each contact
-- loses because another contact was admitted before it. Parameters: $period.
-- Needs cur_contacts and claim_days (sql/current_contacts.sql) and svc (sql/service_groups.sql).
--
-- Staff overlap crosses people, so it crosses the buckets judging works in: this runs ONCE per period over
-- every current contact, before the bucket loop, and each bucket joins its contacts' rows of ov_lost.
-- Person overlap is per person; it is computed here too so both share one sweep.
--
-- A "lane" is what may not be double-booked: a staff member (kind 'S') or a person's in-person contacts of
-- one 15-minute service key (kind 'P'). Set-based sort and sweep: per lane, contacts are clustered by
-- overlap (a running maximum of end times); only clusters of two or more contacts are cut into elementary
-- segments between their start/end instants (real time, UTC: across midnight and clock changes). In a
-- segment the active contacts are ranked in order of admission (wall-clock start date-time, provider_id,
-- log_id) and admitted while the admitted set stays a permitted combination:
--   staff  : one contact of any ratio, or two contacts at 1:2 for two different people;
--   person : contacts of one staff member of one provider (another staff member or provider is refused).
-- A contact refused at a point does not stop the admission: later contacts that still fit are admitted
-- ("skip and keep admitting"). Chosen as a payment analyst would: a staff member at 1:2 with two people
-- really spent that time with both, and a third contact documented in between (for one of the same two
-- people, or at 1:1) should not cost the second person's legitimate shared time; greedy admission keeps
-- the earliest permitted set, so at most one 1:1 contact or one 1:2 pair is paid per staff minute.
-- Documented contacts count whether or not their minutes are billable; remote contacts count for staff
-- overlap; person overlap compares in-person contacts only. A 0-minute contact occupies no minute.

-- The contacts judged this period, in every bucket (as sql/contact_evidence.sql scopes them).
CREATE OR REPLACE TEMP TABLE ov_scope AS
SELECT c.staff_id, c.recipient_id, c.service_key, c.service_date, c.delivery_mode FROM cur_contacts c
WHERE c.period = $period
UNION ALL
SELECT c.staff_id, c.recipient_id, c.service_key, c.service_date, c.delivery_mode FROM cur_contacts c
WHERE c.period <> $period AND (c.recipient_id, c.service_date) IN (SELECT recipient_id, service_date FROM claim_days);

-- Every contact that can overlap one judged: same lane, begun the day before, the same day or the day after
-- (a contact lasts less than 25 hours). A contact loaded this period is judged itself, so it is in its lanes;
-- only contacts of earlier periods are tested against the judged ones' staff-days and person-days (built only
-- for the staff and people such a contact has: none in a month without history).
-- Two passes: every lane row is reduced to integers (kind, a hash of the lane, its instants, the contact's row) and
-- sorted once to find the candidates, the contacts that share time with another contact of their hashed lane --
-- a superset of those that do so in their real lane (two lanes with one hash can only add candidates); only the
-- candidates (a few hundred in a state's month) are then swept with their real lanes (ov_lost).
CREATE OR REPLACE TEMP TABLE ov_lanes AS
WITH k AS (SELECT unnest([-1, 0, 1]) AS k),
ctc AS (SELECT rowid AS rid, staff_id, recipient_id, service_key, service_date, delivery_mode, start_ts AS s,
               end_ts AS e, period = $period AS this_period
        FROM cur_contacts WHERE end_ts > start_ts),
older AS (SELECT * FROM ctc WHERE NOT this_period),
staff_days AS (SELECT DISTINCT staff_id, service_date + k AS d FROM ov_scope, k
               WHERE staff_id IN (SELECT staff_id FROM older)),
person_days AS (SELECT DISTINCT recipient_id, service_key, service_date + k AS d
                FROM ov_scope JOIN svc USING (service_key), k
                WHERE delivery_mode = 'in_person' AND svc.unit = '15min'
                  AND recipient_id IN (SELECT recipient_id FROM older)),
keys AS (
    SELECT 'S' AS kind, hash(staff_id) AS lh, s, e, rid FROM ctc WHERE this_period
    UNION ALL
    SELECT 'S', hash(staff_id), s, e, rid FROM older
    WHERE (staff_id, service_date) IN (SELECT staff_id, d FROM staff_days)
    UNION ALL
    SELECT 'P', hash(recipient_id, service_key), s, e, rid FROM ctc JOIN svc USING (service_key)
    WHERE ctc.this_period AND ctc.delivery_mode = 'in_person' AND svc.unit = '15min'
    UNION ALL
    SELECT 'P', hash(recipient_id, service_key), s, e, rid FROM older JOIN svc USING (service_key)
    WHERE older.delivery_mode = 'in_person' AND svc.unit = '15min'
      AND (recipient_id, service_key, service_date) IN (SELECT recipient_id, service_key, d FROM person_days)),
flagged AS (
    SELECT kind, rid, s,
           max(e) OVER (PARTITION BY kind, lh ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_e,
           max(e) OVER (PARTITION BY kind, lh ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS run_e,
           lead(s) OVER (PARTITION BY kind, lh ORDER BY s, e) AS next_s
    FROM keys)
SELECT f.kind, CASE f.kind WHEN 'S' THEN c.staff_id ELSE c.recipient_id || '|' || c.service_key END AS lane,
       c.provider_id, c.log_id, c.staff_id, c.recipient_id, c.service_key, c.ratio, c.service_date, c.start_minute,
       c.delivery_mode, c.start_ts AS s, c.end_ts AS e
FROM flagged f JOIN cur_contacts c ON c.rowid = f.rid
WHERE f.prev_e > f.s OR f.run_e > f.next_s;

CREATE OR REPLACE TEMP TABLE ov_lost AS
-- One sort of every lane: a contact shares time with another when it starts before the latest end so far, or
-- when the next contact starts before the latest end up to it. Only those (few) are clustered and swept.
WITH ordered AS (
    SELECT *,
           max(e) OVER (PARTITION BY kind, lane ORDER BY s, e, provider_id, log_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_e,
           max(e) OVER (PARTITION BY kind, lane ORDER BY s, e, provider_id, log_id ROWS UNBOUNDED PRECEDING) AS run_e,
           lead(s) OVER (PARTITION BY kind, lane ORDER BY s, e, provider_id, log_id) AS next_s
    FROM ov_lanes),
shared AS (SELECT * EXCLUDE (prev_e, run_e, next_s) FROM ordered WHERE prev_e > s OR run_e > next_s),
multi AS (
    SELECT *, sum(CASE WHEN prev_e IS NULL OR s >= prev_e THEN 1 ELSE 0 END)
              OVER (PARTITION BY kind, lane ORDER BY s, e, provider_id, log_id ROWS UNBOUNDED PRECEDING) AS g
    FROM (SELECT *, max(e) OVER (PARTITION BY kind, lane ORDER BY s, e, provider_id, log_id
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_e FROM shared)),
pts AS (SELECT kind, lane, g, s AS t FROM multi UNION SELECT kind, lane, g, e FROM multi),
seg AS (SELECT kind, lane, g, t AS s, lead(t) OVER (PARTITION BY kind, lane, g ORDER BY t) AS e FROM pts),
act AS (
    SELECT m.kind, m.lane, m.g, seg.s AS seg_s, seg.e AS seg_e, m.provider_id, m.log_id, m.recipient_id,
           m.staff_id, m.ratio,
           row_number() OVER (PARTITION BY m.kind, m.lane, m.g, seg.s
                              ORDER BY m.service_date, m.start_minute, m.provider_id, m.log_id) AS rk
    FROM seg JOIN multi m ON m.kind = seg.kind AND m.lane = seg.lane AND m.g = seg.g
                         AND m.s <= seg.s AND m.e >= seg.e
    WHERE seg.e IS NOT NULL),
firsts AS (
    SELECT kind, lane, g, seg_s, recipient_id AS f_person, ratio AS f_ratio, staff_id AS f_staff,
           provider_id AS f_provider
    FROM act WHERE rk = 1),
-- staff lanes: the second admitted contact, when the first is at 1:2: the first later 1:2 contact for
-- another person
second AS (
    SELECT a.kind, a.lane, a.g, a.seg_s, min(a.rk) AS rk2
    FROM act a JOIN firsts f USING (kind, lane, g, seg_s)
    WHERE a.kind = 'S' AND a.rk > 1 AND f.f_ratio = '1:2' AND a.ratio = '1:2' AND a.recipient_id <> f.f_person
    GROUP BY ALL)
SELECT a.kind, a.provider_id, a.log_id, a.seg_s AS s, a.seg_e AS e
FROM act a JOIN firsts f USING (kind, lane, g, seg_s)
LEFT JOIN second s2 USING (kind, lane, g, seg_s)
WHERE a.rk > 1
  AND NOT (a.kind = 'S' AND a.rk = coalesce(s2.rk2, 0))
  AND NOT (a.kind = 'P' AND a.staff_id = f.f_staff AND a.provider_id = f.f_provider);
