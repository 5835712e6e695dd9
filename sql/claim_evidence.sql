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

-- Lines paid in earlier runs that still stand (not reversed earlier, not reversed by this period).
CREATE OR REPLACE TEMP TABLE hist AS
SELECT o.*, coalesce(svc.is_ihs_in_person, false) AS is_ihs_in_person, coalesce(svc.is_daily, false) AS is_daily,
       coalesce(svc.is_wt, false) AS is_wt, coalesce(svc.is_cma, false) AS is_cma,
       coalesce(svc.is_ihs_remote, false) AS is_ihs_remote
FROM claim_outcomes o LEFT JOIN svc USING (service_key)
WHERE o.period < $period AND o.row_type = 'line' AND o.paid_units > 0
  AND hash(o.recipient_id) % $buckets = $bucket
  AND o.icn NOT IN (SELECT reverses_icn FROM claim_outcomes WHERE period < $period AND reverses_icn IS NOT NULL)
  AND o.icn NOT IN (SELECT original_icn FROM adj_this);

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

CREATE OR REPLACE TEMP TABLE docs AS   -- documentation per match key
SELECT recipient_id, provider_id AS billing_provider_id, procedure_code, modifiers, service_date,
       count(*) AS n_contacts, sum(duration_minutes) AS raw_minutes, sum(billable_minutes) AS billable_minutes,
       bool_and(coalesce(staff_location = 'community', false)) AS all_community,
       string_agg(log_id, ' ' ORDER BY log_id) AS log_ids,
       sum(COLUMNS('^removed__'))
FROM log_rule_minutes WHERE _bucket = $bucket GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE claim_evidence AS
WITH
elig AS (
    SELECT j.ord, list(DISTINCT r.waiver_program ORDER BY r.waiver_program) AS programs,
           arg_max(r.living_arrangement, r.span_start) AS living_arrangement
    FROM judged j JOIN cur_recipients r ON r.recipient_id = j.recipient_id
         AND j.service_date BETWEEN r.span_start AND coalesce(r.span_end, DATE '9999-12-31')
    GROUP BY j.ord),
born AS (SELECT recipient_id, min(birth_date) AS birth_date FROM cur_recipients GROUP BY 1),
origp AS (   -- GEN-TIMELY (Clarification 7): the version a replacement directly replaces, the period that judged
              -- it ("paid" is that period's last day) and whether it was paid at least in part (judged earlier in
              -- this same run: grace_paid_originals, which claimrecon.judge fills and then judges the line again)
    SELECT a.original_icn AS icn, a.original_period AS period, a.original_this_period AS same_period,
           CASE WHEN a.original_this_period THEN a.original_icn IN (SELECT icn FROM grace_paid_originals)
                ELSE coalesce((SELECT sum(o.paid_units) FROM claim_outcomes o WHERE o.period = a.original_period
                               AND o.icn = a.original_icn AND o.row_type = 'line'), 0) > 0 END AS paid,
           CAST(last_day(CAST(a.original_period || '-01' AS DATE)) + to_months($grace_months) AS DATE) AS grace_limit
    FROM adj_this a WHERE a.adjustment_ind = '4' AND a.original_icn IN (SELECT original_icn FROM judged)),
dup_key AS (   -- services billed more than once this period: the first line in order of judgement stands
    SELECT recipient_id, billing_provider_id, procedure_code, modifiers, service_date, units, min(ord) AS first_ord
    FROM judged GROUP BY ALL HAVING count(*) > 1),
dup_in AS (
    SELECT j.ord, f.icn AS first_icn
    FROM judged j JOIN dup_key k USING (recipient_id, billing_provider_id, procedure_code, modifiers, service_date, units)
    JOIN judged f ON f.ord = k.first_ord
    WHERE j.ord > k.first_ord),
dup_hist AS (
    SELECT j.ord, min(h.icn) AS dup_icn
    FROM judged j JOIN hist h ON h.recipient_id = j.recipient_id AND h.billing_provider_id = j.billing_provider_id
         AND h.procedure_code = j.procedure_code AND h.modifiers = j.modifiers AND h.service_date = j.service_date
         AND h.billed_units = j.units AND h.icn IS DISTINCT FROM j.original_icn
    GROUP BY j.ord),
res AS (
    SELECT j.ord,
           bool_or(NOT ((j.is_wot AND r.res_crs_frs AND r.provider_id <> j.billing_provider_id AND coalesce(d.all_community, false))
                     OR (j.is_wt AND r.res_cust_living AND r.provider_id <> j.billing_provider_id))) AS residential_conflict,
           string_agg(DISTINCT r.service_key, ' ') AS residential_sa
    FROM judged j JOIN sa_ok r ON r.recipient_id = j.recipient_id AND r.residential
         AND j.service_date BETWEEN r.start_date AND r.end_date
    LEFT JOIN docs d ON d.recipient_id = j.recipient_id AND d.billing_provider_id = j.billing_provider_id
         AND d.procedure_code = j.procedure_code AND d.modifiers = j.modifiers AND d.service_date = j.service_date
    WHERE j.is_ihs GROUP BY j.ord),
inperson AS (
    SELECT DISTINCT j.ord FROM judged j JOIN sa_ok s ON s.recipient_id = j.recipient_id AND s.is_ihs_in_person
         AND j.service_date BETWEEN s.start_date AND s.end_date
    WHERE j.is_ihs_remote),
daytype AS (
    SELECT ord, recipient_id, service_date, is_daily AS t FROM judged WHERE is_wt AND is_ihs_in_person
    UNION ALL
    SELECT 0, recipient_id, service_date, is_daily FROM hist WHERE is_wt AND is_ihs_in_person),
dayfirst AS (SELECT recipient_id, service_date, t, min(ord) AS first_ord FROM daytype GROUP BY ALL),
dayover AS (
    SELECT j.ord, f.first_ord AS other_first_ord
    FROM judged j JOIN dayfirst f ON f.recipient_id = j.recipient_id AND f.service_date = j.service_date
         AND f.t <> j.is_daily AND f.first_ord < j.ord
    WHERE j.is_wt AND j.is_ihs_in_person),
conflict AS (
    SELECT j.ord, string_agg(DISTINCT s.service_key, ' ') AS other_service_sa
    FROM judged j JOIN sa_ok s ON s.recipient_id = j.recipient_id AND s.provider_id = j.billing_provider_id
         AND j.service_date BETWEEN s.start_date AND s.end_date AND NOT (coalesce(s.is_cm, false) OR coalesce(s.is_cma, false))
    WHERE j.is_cm OR j.is_cma GROUP BY j.ord),
aide_first AS (
    SELECT recipient_id, service_date, arg_min(billing_provider_id, ord) AS first_provider
    FROM (SELECT ord, recipient_id, service_date, billing_provider_id FROM judged WHERE is_cma
          UNION ALL SELECT 0, recipient_id, service_date, billing_provider_id FROM hist WHERE is_cma)
    GROUP BY ALL),
sa_pick AS (
    SELECT j.ord, s.sa_number, s.line_no AS sa_line_no, s.unit_rate, s.authorized_units, s.start_date AS sa_start,
           s.end_date AS sa_end, s.remote_exception_units, s.waiver_program AS sa_program,
           row_number() OVER (PARTITION BY j.ord ORDER BY s.sa_number, s.line_no) AS rn
    FROM judged j JOIN sa_ok s ON s.recipient_id = j.recipient_id AND s.provider_id = j.billing_provider_id
         AND s.procedure_code = j.procedure_code AND s.modifiers = j.modifiers
         AND j.service_date BETWEEN s.start_date AND s.end_date),
auth_other AS (
    SELECT j.ord,
           bool_or(s.provider_id = j.billing_provider_id) AS other_service,
           bool_or(s.provider_id <> j.billing_provider_id AND s.procedure_code = j.procedure_code AND s.modifiers = j.modifiers) AS other_provider
    FROM judged j JOIN sa_ok s ON s.recipient_id = j.recipient_id AND j.service_date BETWEEN s.start_date AND s.end_date
    WHERE j.ord NOT IN (SELECT ord FROM sa_pick)   -- only a line no agreement line covers needs the variant
    GROUP BY j.ord),
cma_doc AS (SELECT DISTINCT recipient_id, provider_id AS billing_provider_id, service_date FROM log_rule_minutes
            WHERE is_cma AND _bucket = $bucket),
hist_doc AS (
    SELECT recipient_id, billing_provider_id, procedure_code, modifiers, service_date, sum(paid_units) AS hist_doc_units
    FROM hist GROUP BY ALL),
hist_auth AS (SELECT sa_number, sa_line_no, sum(paid_units) AS hist_auth_units FROM hist GROUP BY ALL),
hist_day AS (
    SELECT recipient_id, service_date, sum(paid_units * CASE WHEN is_daily THEN $daily_equiv ELSE 1 END) AS hist_day_units
    FROM hist WHERE is_ihs_in_person GROUP BY ALL)
SELECT j.ord, j.icn, j.line_no, j.adjustment_ind, j.original_icn, j.received_date, j.billing_provider_id,
       j.recipient_id, j.procedure_code, j.modifiers, j.service_key, j.service_date,
       CAST(j.units AS BIGINT) AS billed_units, CAST(j.billed_amount * 100 AS BIGINT) AS billed_cents,
       j.source_file, j.source_row, j.unit,
       j.is_ihs, j.is_ihs_remote, j.is_ihs_in_person, j.is_wt, j.is_ft, j.is_wot, j.is_daily, j.is_cm, j.is_cma, j.is_tcm,
       -- eligibility and the person
       elig.ord IS NOT NULL AS eligible,
       coalesce(list_has_any(elig.programs, ['BI', 'CAC', 'CADI', 'DD']), false) AS ihs_waiver_ok,
       array_to_string(elig.programs, ' ') AS waiver_program,
       elig.living_arrangement,
       (year(j.service_date) - year(born.birth_date))
         - CASE WHEN strftime(j.service_date, '%m%d') < strftime(born.birth_date, '%m%d') THEN 1 ELSE 0 END AS age,
       -- the provider
       p.provider_id IS NOT NULL AS provider_known,
       coalesce(j.service_date BETWEEN p.enrollment_start AND coalesce(p.enrollment_end, DATE '9999-12-31'), false) AS provider_enrolled,
       coalesce(p.licenses, '') AS licenses,
       -- timely filing (a replacement may also come within the grace months after the original was paid)
       j.received_date <= j.service_date + to_months($timely_months) AS within_filing_limit,
       -- GEN-TIMELY (Clarification 7): the grace runs to the same day $grace_months months after the last day of the
       -- period that judged the original (that month's last day when it has none), only when the original was paid
       -- at least in part.
       j.adjustment_ind = '4' AND coalesce(op.paid AND j.received_date <= op.grace_limit, false) AS replacement_grace,
       CASE WHEN j.adjustment_ind = '4' AND op.paid
            THEN greatest(CAST(j.service_date + to_months($timely_months) AS DATE), op.grace_limit)
            ELSE CAST(j.service_date + to_months($timely_months) AS DATE) END AS filing_limit,
       -- duplicates
       coalesce(dup_in.first_icn, dup_hist.dup_icn) AS duplicate_of,
       -- IHS service rules
       coalesce(res.residential_conflict, false) AS residential_conflict, res.residential_sa,
       inperson.ord IS NOT NULL AS has_inperson_sa,
       dayover.ord IS NOT NULL AS day_overlap,
       conflict.other_service_sa,
       af.first_provider,
       -- authorization
       sa.sa_number, sa.sa_line_no, CAST(sa.unit_rate * 100 AS BIGINT) AS rate_cents, CAST(sa.authorized_units AS BIGINT) AS authorized_units,
       sa.sa_start, sa.sa_end, CAST(coalesce(sa.remote_exception_units, 0) AS BIGINT) AS remote_exception_units,
       CASE WHEN sa.sa_number IS NOT NULL THEN NULL
            WHEN coalesce(ao.other_service, false) THEN 'other_service'
            WHEN coalesce(ao.other_provider, false) THEN 'other_provider' ELSE 'none' END AS auth_variant,
       coalesce(CAST(ha.hist_auth_units AS BIGINT), 0) AS hist_auth_units,
       -- documentation
       coalesce(d.n_contacts, 0) AS n_contacts, coalesce(d.raw_minutes, 0) AS raw_minutes,
       coalesce(d.billable_minutes, 0) AS billable_minutes, d.log_ids,
       cma_doc.recipient_id IS NOT NULL AS has_cma_contact,
       coalesce(CAST(hd.hist_doc_units AS BIGINT), 0) AS hist_doc_units,
       coalesce(CAST(hday.hist_day_units AS BIGINT), 0) AS hist_day_units,
       COLUMNS('^removed__')
FROM judged j
LEFT JOIN elig USING (ord)
LEFT JOIN born ON born.recipient_id = j.recipient_id
LEFT JOIN cur_providers p ON p.provider_id = j.billing_provider_id
LEFT JOIN origp op ON op.icn = j.original_icn
LEFT JOIN dup_in USING (ord)
LEFT JOIN dup_hist USING (ord)
LEFT JOIN res USING (ord)
LEFT JOIN inperson USING (ord)
LEFT JOIN dayover USING (ord)
LEFT JOIN conflict USING (ord)
LEFT JOIN aide_first af ON af.recipient_id = j.recipient_id AND af.service_date = j.service_date AND j.is_cma
LEFT JOIN (SELECT * FROM sa_pick WHERE rn = 1) sa USING (ord)
LEFT JOIN auth_other ao USING (ord)
LEFT JOIN docs d ON d.recipient_id = j.recipient_id AND d.billing_provider_id = j.billing_provider_id
     AND d.procedure_code = j.procedure_code AND d.modifiers = j.modifiers AND d.service_date = j.service_date
LEFT JOIN cma_doc ON cma_doc.recipient_id = j.recipient_id AND cma_doc.billing_provider_id = j.billing_provider_id
     AND cma_doc.service_date = j.service_date
LEFT JOIN hist_doc hd ON hd.recipient_id = j.recipient_id AND hd.billing_provider_id = j.billing_provider_id
     AND hd.procedure_code = j.procedure_code AND hd.modifiers = j.modifiers AND hd.service_date = j.service_date
LEFT JOIN hist_auth ha ON ha.sa_number = sa.sa_number AND ha.sa_line_no = sa.sa_line_no
LEFT JOIN hist_day hday ON hday.recipient_id = j.recipient_id AND hday.service_date = j.service_date;  -- (the engine puts the lines in order of judgement, ord)

-- Remote units already paid per agreement line and agreement year (for IHS-REMOTE-CAP).
CREATE OR REPLACE TEMP TABLE hist_remote AS
SELECT sa_number, sa_line_no, service_date, CAST(paid_units AS BIGINT) AS paid_units FROM hist WHERE is_ihs_remote;
