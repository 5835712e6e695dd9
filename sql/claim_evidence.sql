-- Evidence for the claim edits (contracts/claim_edits.py): one row per claim line judged this period
-- (originals and replacements; voids only reverse). Facts only; the contract decides.
-- Parameters: $period, $timely_months, $grace_months, $daily_equiv; $bucket of $buckets: the lines of
--             the people whose hash(recipient_id) % $buckets = $bucket (0 of 1 is every line). Every fact
--             below is about one person's lines, agreements, contacts and history, so a bucket is judged
--             on its own.
-- Needs: svc (sql/service_groups.sql), sql/claim_evidence_prep.sql, and log_rule_minutes (the service-log
--        asset's work table, tagged with the same buckets).

CREATE OR REPLACE TEMP TABLE cur_recipients AS SELECT * EXCLUDE (_bucket) FROM cur_recipients_all WHERE _bucket = $bucket;
CREATE OR REPLACE TEMP TABLE sa_ok AS SELECT * EXCLUDE (_bucket) FROM sa_ok_all WHERE _bucket = $bucket;
CREATE OR REPLACE TEMP TABLE cur_stays AS SELECT * EXCLUDE (_bucket) FROM cur_stays_all WHERE _bucket = $bucket;

-- Adjustments of this period in order of judgement: a void or replacement takes effect at its own place
-- (received date, ICN), before its first line (Clar. 6). Every bucket reads them all (a handful).
CREATE OR REPLACE TEMP TABLE adj_events AS
SELECT a.icn, a.original_icn, min(k.received_date) AS received_date
FROM adj_this a JOIN claims k ON k.period = $period AND k.icn = a.icn
GROUP BY ALL;

-- Remote-support years (IHS-REMOTE-CAP, Clar. 18): consecutive 365-day years per PERSON counted from the
-- earliest start_date of the person's approved remote IHS agreement lines in the snapshot in force.
CREATE OR REPLACE TEMP TABLE remote_first AS
SELECT recipient_id, min(start_date) AS first_start FROM sa_ok WHERE is_ihs_remote GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE judged AS
-- ord: the order of judgement (received date, ICN, line) among the bucket's lines; every rule that
-- depends on order compares lines of one person, so the bucket's order is the period's order for them.
SELECT row_number() OVER (ORDER BY k.received_date, k.icn, k.line_no) AS ord, k.* EXCLUDE (_bucket),
       coalesce(svc.is_ihs, false) AS is_ihs, coalesce(svc.is_ihs_remote, false) AS is_ihs_remote,
       coalesce(svc.is_ihs_in_person, false) AS is_ihs_in_person, coalesce(svc.is_wt, false) AS is_wt,
       coalesce(svc.is_ft, false) AS is_ft, coalesce(svc.is_wot, false) AS is_wot,
       coalesce(svc.is_daily, false) AS is_daily, coalesce(svc.is_cm, false) AS is_cm,
       coalesce(svc.is_cma, false) AS is_cma, coalesce(svc.is_tcm, false) AS is_tcm,
       svc.unit AS unit
FROM period_claims k LEFT JOIN svc USING (service_key)
WHERE k._bucket = $bucket;

-- Lines paid in earlier runs still standing when the period opens (not reversed in an earlier period).
-- Lines an adjustment of THIS period reverses stay in, with the adjustment's place in order
-- (rev_received, rev_icn): they count until the reversal (Clar. 5, 6; the engine applies it in order).
CREATE OR REPLACE TEMP TABLE hist AS
SELECT o.* EXCLUDE (_bucket), coalesce(svc.is_ihs_in_person, false) AS is_ihs_in_person, coalesce(svc.is_daily, false) AS is_daily,
       coalesce(svc.is_wt, false) AS is_wt, coalesce(svc.is_cma, false) AS is_cma,
       coalesce(svc.is_ihs_remote, false) AS is_ihs_remote,
       CAST(floor(date_diff('day', rf.first_start, o.service_date) / 365) AS BIGINT) AS remote_year,
       ev.received_date AS rev_received, ev.icn AS rev_icn
FROM hist_all o LEFT JOIN svc USING (service_key)
LEFT JOIN remote_first rf ON rf.recipient_id = o.recipient_id
LEFT JOIN adj_events ev ON ev.original_icn = o.icn
WHERE o._bucket = $bucket;   -- (hist_all: sql/claim_evidence_prep.sql, once per claim run)

CREATE OR REPLACE TEMP TABLE docs AS   -- documentation per match key (its log_ids: claimrecon.judge, ledger lines only)
SELECT recipient_id, provider_id AS billing_provider_id, procedure_code, modifiers, service_date,
       count(*) AS n_contacts, sum(duration_minutes) AS raw_minutes, sum(billable_minutes) AS billable_minutes,
       bool_and(coalesce(staff_location = 'community', false)) AS all_community,
       sum(COLUMNS('^removed__'))
FROM log_rule_minutes WHERE _bucket = $bucket GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE claim_evidence AS
WITH
hist_auth AS (SELECT sa_number, sa_line_no, sum(paid_units) AS hist_auth_units FROM hist GROUP BY ALL),
elig AS (   -- GEN-ELIGIBILITY: a span of any program covers the date (spans inclusive at both ends).
    -- GEN-PROGRAM, IHS-WAIVER, IHS-FT-FOSTER, IHS-FT-HOME read every span covering the date: a rule passes when
    -- any of them satisfies it (Clarification 17), so the programs and living arrangements are kept as lists.
    -- Most people have one span: their lists are that span's values, without a per-line aggregate.
    SELECT j.ord, [r.waiver_program] AS programs, [r.living_arrangement] AS livings
    FROM judged j JOIN cur_recipients r ON r.recipient_id = j.recipient_id
         AND j.service_date BETWEEN r.span_start AND coalesce(r.span_end, DATE '9999-12-31')
    WHERE r.recipient_id NOT IN (SELECT recipient_id FROM cur_recipients GROUP BY 1 HAVING count(*) > 1)
    UNION ALL
    SELECT j.ord, list(DISTINCT r.waiver_program ORDER BY r.waiver_program) AS programs,
           list(DISTINCT r.living_arrangement ORDER BY r.living_arrangement) AS livings
    FROM judged j JOIN cur_recipients r ON r.recipient_id = j.recipient_id
         AND j.service_date BETWEEN r.span_start AND coalesce(r.span_end, DATE '9999-12-31')
    WHERE r.recipient_id IN (SELECT recipient_id FROM cur_recipients GROUP BY 1 HAVING count(*) > 1)
    GROUP BY j.ord),
-- GEN-DECEASED: the date of death is "the same on every span"; where spans disagree the earliest date given is
-- taken (a span without one does not clear another's). Ages: IHS-WT-ADULT, TCM-AGE.
born AS (SELECT recipient_id, min(birth_date) AS birth_date, min(death_date) AS death_date FROM cur_recipients GROUP BY 1),
stay_dates AS (   -- GEN-INPATIENT (Clarification 17): the stays that make the service date an inpatient date
    -- strictly between admission and discharge (an open stay: every date after its admission) ...
    SELECT j.ord, s.facility_type, s.admit_date, s.discharge_date
    FROM judged j JOIN cur_stays s ON s.recipient_id = j.recipient_id
         AND j.service_date > s.admit_date AND j.service_date < coalesce(s.discharge_date, DATE '9999-12-31')
    UNION ALL   -- ... or one stay's discharge date that is another stay's admission date (a transfer)
    SELECT j.ord, s2.facility_type, s2.admit_date, s2.discharge_date
    FROM judged j JOIN cur_stays s1 ON s1.recipient_id = j.recipient_id AND s1.discharge_date = j.service_date
    JOIN cur_stays s2 ON s2.recipient_id = j.recipient_id AND s2.admit_date = j.service_date AND s2.stay_id <> s1.stay_id),
inpatient AS (   -- GEN-INPATIENT evidence: the first such stay, as text
    SELECT ord, min(facility_type || ' ' || strftime(admit_date, '%Y-%m-%d') || '..'
                    || coalesce(strftime(discharge_date, '%Y-%m-%d'), 'open')) AS facility_stay
    FROM stay_dates GROUP BY ord),
origp AS (   -- GEN-TIMELY (Clarification 7): the version a replacement directly replaces, the period that judged
              -- it ("paid" is that period's last day) and whether it was paid at least in part (judged earlier in
              -- this same run: grace_paid_originals, which claimrecon.judge fills and then judges the line again)
    SELECT a.original_icn AS icn, a.original_period AS period, a.original_this_period AS same_period,
           CASE WHEN a.original_this_period THEN a.original_icn IN (SELECT icn FROM grace_paid_originals)
                ELSE coalesce((SELECT sum(o.paid_units) FROM claim_outcomes o WHERE o.period = a.original_period
                               AND o.icn = a.original_icn AND o.row_type = 'line'), 0) > 0 END AS paid,
           CAST(last_day(CAST(a.original_period || '-01' AS DATE)) + to_months($grace_months) AS DATE) AS grace_limit
    FROM adj_this a WHERE a.adjustment_ind = '4' AND a.original_icn IN (SELECT original_icn FROM judged)),
res AS (   -- IHS-RESIDENTIAL: a residential agreement line covering an IHS line's date. Without training beside a
    -- CRS/FRS line of another provider is allowed only where the documented contacts were all in the community
    -- (the line's documentation, joined below): conflict_if_community / conflict_otherwise are the two cases.
    SELECT j.ord,
           bool_or(NOT (j.is_wot AND r.res_crs_frs AND r.provider_id <> j.billing_provider_id)
                   AND NOT (j.is_wt AND r.res_cust_living AND r.provider_id <> j.billing_provider_id)) AS conflict_if_community,
           bool_or(NOT (j.is_wt AND r.res_cust_living AND r.provider_id <> j.billing_provider_id)) AS conflict_otherwise,
           string_agg(DISTINCT r.service_key, ' ') AS residential_sa
    FROM judged j JOIN sa_ok r ON r.recipient_id = j.recipient_id AND r.residential
         AND j.service_date BETWEEN r.start_date AND r.end_date
    WHERE j.is_ihs GROUP BY j.ord),
inperson AS (
    SELECT DISTINCT j.ord FROM judged j JOIN sa_ok s ON s.recipient_id = j.recipient_id AND s.is_ihs_in_person
         AND j.service_date BETWEEN s.start_date AND s.end_date
    WHERE j.is_ihs_remote),
conflict AS (
    SELECT j.ord, string_agg(DISTINCT s.service_key, ' ') AS other_service_sa
    FROM judged j JOIN sa_ok s ON s.recipient_id = j.recipient_id AND s.provider_id = j.billing_provider_id
         AND j.service_date BETWEEN s.start_date AND s.end_date AND NOT (coalesce(s.is_cm, false) OR coalesce(s.is_cma, false))
    WHERE j.is_cm OR j.is_cma GROUP BY j.ord),
-- Clar. 4: the approved lines covering the claim line, in order of earliest start_date, sa_number, line_no.
-- The engine draws from the first with enough units left at the line's place in order; the first is
-- what a line alone on its agreement lines uses (sa_number ... below). The ordered list is built only for
-- the few lines with more than one candidate (sa_multi): a line with one uses it (claimrecon.engine).
sa_cand AS (
    SELECT j.ord, s.sa_number, s.line_no AS sa_line_no, CAST(s.unit_rate * 100 AS BIGINT) AS rate_cents,
           CAST(s.authorized_units AS BIGINT) AS authorized_units, s.start_date AS sa_start,
           coalesce(CAST(ha.hist_auth_units AS BIGINT), 0) AS hist_auth_units
    FROM judged j JOIN sa_ok s ON s.recipient_id = j.recipient_id AND s.provider_id = j.billing_provider_id
         AND s.procedure_code = j.procedure_code AND s.modifiers = j.modifiers
         AND j.service_date BETWEEN s.start_date AND s.end_date
    LEFT JOIN hist_auth ha ON ha.sa_number = s.sa_number AND ha.sa_line_no = s.line_no),
sa_pick AS (   -- the first candidate in that order (a struct compares field by field) and how many there are
    SELECT ord, count(*) AS n_sa_cands,
           min(struct_pack(sa_start, sa_number, sa_line_no, rate_cents, authorized_units, hist_auth_units)) AS first
    FROM sa_cand GROUP BY ord),
sa_multi AS (
    SELECT ord, list(struct_pack(sa_number, sa_line_no, rate_cents, authorized_units, hist_auth_units)
                     ORDER BY sa_start, sa_number, sa_line_no) AS sa_cands
    FROM sa_cand WHERE ord IN (SELECT ord FROM sa_pick WHERE n_sa_cands > 1) GROUP BY ord),
auth_other AS (   -- GEN-AUTH-NONE CO-284 / CO-296: the service is the catalog's service key (Clarification 11)
    SELECT j.ord,
           bool_or(s.provider_id = j.billing_provider_id AND s.service_key IS DISTINCT FROM j.service_key) AS other_service,
           bool_or(s.provider_id <> j.billing_provider_id AND s.service_key = j.service_key) AS other_provider
    FROM (SELECT * FROM judged ANTI JOIN sa_pick USING (ord)) j   -- only a line no agreement line covers needs the variant
    JOIN sa_ok s ON s.recipient_id = j.recipient_id AND j.service_date BETWEEN s.start_date AND s.end_date
    GROUP BY j.ord),
cma_doc AS (   -- Clar. 9: aide contacts behind a CM line (their documented minutes)
    SELECT recipient_id, provider_id AS billing_provider_id, service_date, sum(duration_minutes) AS aide_minutes
    FROM log_rule_minutes WHERE is_cma AND _bucket = $bucket GROUP BY ALL),
hist_doc AS (  -- Clar. 3, 5: units earlier runs paid from the same documentation pool
    SELECT recipient_id, billing_provider_id, procedure_code, modifiers, service_date, sum(paid_units) AS hist_doc_units
    FROM hist GROUP BY ALL),
hist_day AS (
    SELECT recipient_id, service_date, sum(paid_units * CASE WHEN is_daily THEN $daily_equiv ELSE 1 END) AS hist_day_units
    FROM hist WHERE is_ihs_in_person GROUP BY ALL),
remote_k AS (   -- IHS-REMOTE-CAP: the line's remote-support year (per person, no proration)
    SELECT j.ord, j.recipient_id, rf.first_start,
           CAST(floor(date_diff('day', rf.first_start, j.service_date) / 365) AS BIGINT) AS remote_year
    FROM judged j JOIN remote_first rf ON rf.recipient_id = j.recipient_id WHERE j.is_ihs_remote),
remote_year AS (   -- ... its first day and its cap: 2,920 + the largest exception of the person's remote lines overlapping it
    SELECT k.ord, k.remote_year, CAST(k.first_start + to_days(CAST(365 * k.remote_year AS INTEGER)) AS DATE) AS remote_year_start,
           $remote_cap + CAST(coalesce(max(s.remote_exception_units), 0) AS BIGINT) AS remote_cap
    FROM remote_k k LEFT JOIN sa_ok s ON s.recipient_id = k.recipient_id AND s.is_ihs_remote
         AND s.start_date <= k.first_start + to_days(CAST(365 * k.remote_year + 364 AS INTEGER))
         AND s.end_date >= k.first_start + to_days(CAST(365 * k.remote_year AS INTEGER))
    GROUP BY ALL),
hist_rem AS (SELECT recipient_id, remote_year, sum(paid_units) AS hist_remote_units FROM hist
             WHERE is_ihs_remote GROUP BY ALL),
hist_days AS (SELECT DISTINCT recipient_id, service_date FROM hist),
hist_charged AS (   -- Clar. 3: the log contracts' units earlier runs' lines on the pool were charged with (their ledger)
    SELECT h.recipient_id, h.billing_provider_id, h.procedure_code, h.modifiers, h.service_date,
           list(struct_pack(rule_id := l.rule_id, units := CAST(l.units AS BIGINT)) ORDER BY l.rule_id, h.icn, h.line_no) AS hist_charges
    FROM hist h JOIN denial_ledger l ON l.period = h.period AND l.icn = h.icn AND l.line_no = h.line_no
         AND l.row_type = 'line' AND l.units > 0
    JOIN rules r ON r.rule_id = l.rule_id AND r.kind = 'log'
    WHERE h.rev_icn IS NULL
      AND EXISTS (SELECT 1 FROM judged j WHERE j.recipient_id = h.recipient_id AND j.service_date = h.service_date)
    GROUP BY ALL),
-- The facts are joined onto the narrow keys of the lines (jk) and only then onto the lines' other columns: every
-- join in the chain carries (and hashes) a narrow row, not the whole claim line.
facts AS (
SELECT j.ord,
       -- eligibility and the person
       elig.ord IS NOT NULL AS eligible,
       coalesce(list_has_any(elig.programs, ['BI', 'CAC', 'CADI', 'DD']), false) AS ihs_waiver_ok,
       array_to_string(elig.programs, ' ') AS waiver_program,
       elig.programs AS span_programs,   -- GEN-PROGRAM (every program covering the date)
       elig.livings AS span_living,      -- IHS-FT-FOSTER, IHS-FT-HOME (every arrangement covering the date)
       array_to_string(elig.livings, ' ') AS living_arrangement,
       born.death_date,                  -- GEN-DECEASED
       inpatient.facility_stay,          -- GEN-INPATIENT
       (year(j.service_date) - year(born.birth_date))
         - CASE WHEN month(j.service_date) * 100 + day(j.service_date)
                     < month(born.birth_date) * 100 + day(born.birth_date) THEN 1 ELSE 0 END AS age,
       -- the provider
       p.provider_id IS NOT NULL AS provider_known,
       coalesce(j.service_date BETWEEN p.enrollment_start AND coalesce(p.enrollment_end, DATE '9999-12-31'), false) AS provider_enrolled,
       coalesce(p.licenses, '') AS licenses,
       p.case_management_agency,         -- CM-AGENCY
       -- timely filing (a replacement may also come within the grace months after the original was paid)
       j.received_date <= j.service_date + to_months($timely_months) AS within_filing_limit,
       -- GEN-TIMELY (Clarification 7): the grace runs to the same day $grace_months months after the last day of the
       -- period that judged the original (that month's last day when it has none), only when the original was paid
       -- at least in part.
       j.adjustment_ind = '4' AND coalesce(op.paid AND j.received_date <= op.grace_limit, false) AS replacement_grace,
       CASE WHEN j.adjustment_ind = '4' AND op.paid
            THEN greatest(CAST(j.service_date + to_months($timely_months) AS DATE), op.grace_limit)
            ELSE CAST(j.service_date + to_months($timely_months) AS DATE) END AS filing_limit,
       -- IHS service rules
       coalesce(CASE WHEN coalesce(d.all_community, false) THEN res.conflict_if_community
                     ELSE res.conflict_otherwise END, false) AS residential_conflict, res.residential_sa,
       inperson.ord IS NOT NULL AS has_inperson_sa,
       conflict.other_service_sa,
       -- authorization (Clar. 4: the candidate lines in order; the first is the line's when it is alone on them)
       sa.first.sa_number AS sa_number, sa.first.sa_line_no AS sa_line_no,
       sa.first.rate_cents AS rate_cents, sa.first.authorized_units AS authorized_units,
       sa.first.hist_auth_units AS hist_auth_units, coalesce(sa.n_sa_cands, 0) AS n_sa_cands, sm.sa_cands,
       CASE WHEN sa.ord IS NOT NULL THEN NULL
            WHEN coalesce(ao.other_service, false) THEN 'other_service'
            WHEN coalesce(ao.other_provider, false) THEN 'other_provider' ELSE 'none' END AS auth_variant,
       -- IHS-REMOTE-CAP: the person's remote-support year, its cap, and remote units earlier runs paid in it
       ry.remote_year, ry.remote_year_start, ry.remote_cap, coalesce(CAST(hr.hist_remote_units AS BIGINT), 0) AS hist_remote_units,
       -- history on the same person and date (duplicates, aide provider, daily/15-minute overlap: the ordered pass)
       hdays.recipient_id IS NOT NULL AS hist_same_day,
       -- documentation
       coalesce(d.n_contacts, 0) AS n_contacts, coalesce(d.raw_minutes, 0) AS raw_minutes,
       coalesce(d.billable_minutes, 0) AS billable_minutes,
       cma_doc.recipient_id IS NOT NULL AS has_cma_contact, coalesce(CAST(cma_doc.aide_minutes AS BIGINT), 0) AS aide_minutes,
       coalesce(CAST(hd.hist_doc_units AS BIGINT), 0) AS hist_doc_units, hc.hist_charges,
       coalesce(CAST(hday.hist_day_units AS BIGINT), 0) AS hist_day_units,
       COLUMNS('^removed__')
FROM (SELECT ord, recipient_id, billing_provider_id, procedure_code, modifiers, service_date, received_date,
             adjustment_ind, original_icn FROM judged) j
LEFT JOIN elig USING (ord)
LEFT JOIN inpatient USING (ord)
LEFT JOIN born ON born.recipient_id = j.recipient_id
LEFT JOIN cur_providers p ON p.provider_id = j.billing_provider_id
LEFT JOIN origp op ON op.icn = j.original_icn
LEFT JOIN res USING (ord)
LEFT JOIN inperson USING (ord)
LEFT JOIN conflict USING (ord)
LEFT JOIN sa_pick sa USING (ord)
LEFT JOIN sa_multi sm USING (ord)
LEFT JOIN remote_year ry USING (ord)
LEFT JOIN hist_rem hr ON hr.recipient_id = j.recipient_id AND hr.remote_year = ry.remote_year
LEFT JOIN hist_days hdays ON hdays.recipient_id = j.recipient_id AND hdays.service_date = j.service_date
LEFT JOIN auth_other ao USING (ord)
LEFT JOIN docs d ON d.recipient_id = j.recipient_id AND d.billing_provider_id = j.billing_provider_id
     AND d.procedure_code = j.procedure_code AND d.modifiers = j.modifiers AND d.service_date = j.service_date
LEFT JOIN cma_doc ON cma_doc.recipient_id = j.recipient_id AND cma_doc.billing_provider_id = j.billing_provider_id
     AND cma_doc.service_date = j.service_date
LEFT JOIN hist_doc hd ON hd.recipient_id = j.recipient_id AND hd.billing_provider_id = j.billing_provider_id
     AND hd.procedure_code = j.procedure_code AND hd.modifiers = j.modifiers AND hd.service_date = j.service_date
LEFT JOIN hist_charged hc ON hc.recipient_id = j.recipient_id AND hc.billing_provider_id = j.billing_provider_id
     AND hc.procedure_code = j.procedure_code AND hc.modifiers = j.modifiers AND hc.service_date = j.service_date
LEFT JOIN hist_day hday ON hday.recipient_id = j.recipient_id AND hday.service_date = j.service_date)
SELECT j.ord, j.icn, j.line_no, j.adjustment_ind, j.original_icn, j.received_date, j.billing_provider_id,
       j.recipient_id, j.procedure_code, j.modifiers, j.service_key, j.service_date,
       CAST(j.units AS BIGINT) AS billed_units, CAST(j.billed_amount * 100 AS BIGINT) AS billed_cents,
       j.source_file, j.source_row, j.unit,
       j.is_ihs, j.is_ihs_remote, j.is_ihs_in_person, j.is_wt, j.is_ft, j.is_wot, j.is_daily, j.is_cm, j.is_cma, j.is_tcm,
       facts.* EXCLUDE (ord)
FROM judged j JOIN facts USING (ord);  -- (the engine puts the lines in order of judgement, ord)

-- History the ordered pass reads line by line (engine._Sequence): earlier runs' paid lines on a person and date
-- judged this period (duplicates, the day's first aide provider, daily vs 15-minute units) and every line
-- an adjustment of this period reverses (its units return at the adjustment's place in order).
CREATE OR REPLACE TEMP TABLE hist_lines AS
SELECT h.icn, h.line_no, h.period, h.received_date, h.recipient_id, h.billing_provider_id, h.procedure_code, h.modifiers,
       h.service_date, CAST(h.billed_units AS BIGINT) AS billed_units, CAST(h.paid_units AS BIGINT) AS paid_units,
       h.sa_number, h.sa_line_no, h.is_ihs_in_person, h.is_daily, h.is_wt, h.is_cma, h.is_ihs_remote, h.remote_year,
       h.rev_received, h.rev_icn
FROM hist h
WHERE h.rev_icn IS NOT NULL
   OR EXISTS (SELECT 1 FROM judged j WHERE j.recipient_id = h.recipient_id AND j.service_date = h.service_date)
ORDER BY h.period, h.received_date, h.icn, h.line_no;
