-- claimrecon warehouse schema. Column names of the published tables are the contract of
-- docs/outputs.md. Money is DECIMAL(12,2); units DECIMAL(12,2). Every loaded row keeps its
-- provenance: source_file, source_row, file_sha256 and the period that loaded it.

CREATE TABLE IF NOT EXISTS input_files (
    period VARCHAR, kind VARCHAR, source_file VARCHAR, file_sha256 VARCHAR, status VARCHAR,
    detail_lines BIGINT, loaded_rows BIGINT, rejected_rows BIGINT,
    control_count BIGINT, control_total DECIMAL(18,2), loaded_total DECIMAL(18,2), reason VARCHAR
);
-- the trailer column summed over the file's rejected records, read from their raw text (a rejected line's
-- amount may be too wide for DECIMAL(12,2)): control_total = loaded_total + rejected_total
ALTER TABLE input_files ADD COLUMN IF NOT EXISTS rejected_total DECIMAL(38,2);

CREATE TABLE IF NOT EXISTS rejected_records (
    period VARCHAR, source_file VARCHAR, row_number BIGINT, record_kind VARCHAR, rule_id VARCHAR,
    message VARCHAR, raw_record VARCHAR, file_sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS claims (
    period VARCHAR, icn VARCHAR, line_no INTEGER, adjustment_ind VARCHAR, original_icn VARCHAR,
    received_date DATE, billing_provider_id VARCHAR, recipient_id VARCHAR, procedure_code VARCHAR,
    modifiers VARCHAR, service_key VARCHAR, service_date DATE, units DECIMAL(12,2), billed_amount DECIMAL(12,2),
    place_of_service VARCHAR, diagnosis_code VARCHAR, extra_columns VARCHAR,
    source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS claims_rejected (   -- what can be read of a rejected claim line (for claim_outcomes)
    period VARCHAR, icn VARCHAR, line_no INTEGER, adjustment_ind VARCHAR, billing_provider_id VARCHAR,
    procedure_code VARCHAR, received_date DATE, units DECIMAL(12,2), billed_amount DECIMAL(12,2), rule_id VARCHAR,
    source_file VARCHAR, source_row BIGINT
);

-- Voids and replacements accepted at the front end (rules.md Clarification 6), one row per adjustment claim:
-- the claim version it reverses (original_icn), the period that judged that version, and whether that is the
-- adjustment's own period (a same-period original: the judging step releases its documentation, units and cap
-- room at the replacement's place in order). Written by the claims ingest; read by the judging step.
CREATE TABLE IF NOT EXISTS claim_adjustments (
    period VARCHAR, icn VARCHAR, adjustment_ind VARCHAR, original_icn VARCHAR, original_period VARCHAR,
    original_this_period BOOLEAN
);

CREATE TABLE IF NOT EXISTS sa_lines (
    period VARCHAR, sa_number VARCHAR, line_no INTEGER, sa_status VARCHAR, line_status VARCHAR,
    recipient_id VARCHAR, provider_id VARCHAR, procedure_code VARCHAR, modifiers VARCHAR, service_key VARCHAR,
    start_date DATE, end_date DATE, authorized_units DECIMAL(12,2), unit_rate DECIMAL(12,2),
    waiver_program VARCHAR, remote_exception_units DECIMAL(12,2), case_manager_id VARCHAR, extra_columns VARCHAR,
    source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS contacts (
    period VARCHAR, log_id VARCHAR, provider_id VARCHAR, staff_id VARCHAR, recipient_id VARCHAR,
    procedure_code VARCHAR, modifiers VARCHAR, service_key VARCHAR, service_date DATE,
    start_minute INTEGER, end_minute INTEGER, start_ts TIMESTAMP, end_ts TIMESTAMP, duration_minutes INTEGER,
    minutes INTEGER, delivery_mode VARCHAR, contact_method VARCHAR, two_way VARCHAR, activity VARCHAR,
    staff_location VARCHAR, ratio VARCHAR, tcm_flag VARCHAR, narrative VARCHAR, extra_columns VARCHAR,
    source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS recipients (
    period VARCHAR, recipient_id VARCHAR, birth_date DATE, waiver_program VARCHAR, span_start DATE, span_end DATE,
    living_arrangement VARCHAR, sleep_start VARCHAR, sleep_end VARCHAR, extra_columns VARCHAR,
    source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR, death_date DATE
);
-- revision 2: date of death (GEN-DECEASED); a warehouse from before gains the column (loads insert by name)
ALTER TABLE recipients ADD COLUMN IF NOT EXISTS death_date DATE;

-- revision 2: inpatient stays (GEN-INPATIENT), an optional full snapshot like the other reference files
CREATE TABLE IF NOT EXISTS facility_stays (
    period VARCHAR, recipient_id VARCHAR, facility_type VARCHAR, admit_date DATE, discharge_date DATE,
    extra_columns VARCHAR, source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS providers (
    period VARCHAR, provider_id VARCHAR, name VARCHAR, enrollment_start DATE, enrollment_end DATE,
    licenses VARCHAR, case_management_agency VARCHAR, extra_columns VARCHAR,
    source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS staff (
    period VARCHAR, staff_id VARCHAR, provider_id VARCHAR, role VARCHAR, hire_date DATE, end_date DATE,
    background_study_date DATE, high_school_graduate VARCHAR, qualifying_experience_months INTEGER,
    postsecondary_years DECIMAL(6,2), supervisor_staff_id VARCHAR, training_hours_12m DECIMAL(8,2), extra_columns VARCHAR,
    source_file VARCHAR, source_row BIGINT, file_sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS procedure_codes (
    period VARCHAR, service_key VARCHAR, description VARCHAR, procedure_code VARCHAR, modifiers VARCHAR,
    unit VARCHAR, ratio VARCHAR, delivery VARCHAR, groups VARCHAR, source VARCHAR
);

CREATE TABLE IF NOT EXISTS rules (
    rule_id VARCHAR, kind VARCHAR, precedence INTEGER, message VARCHAR, group_code VARCHAR, carc VARCHAR,
    rarc VARCHAR, citation VARCHAR, effective_from DATE, effective_to DATE, catalog_version VARCHAR
);

CREATE TABLE IF NOT EXISTS log_billability (
    period VARCHAR, log_id VARCHAR, provider_id VARCHAR, recipient_id VARCHAR, service_date DATE,
    service_key VARCHAR, duration_minutes INTEGER, billable_minutes INTEGER, rule_ids VARCHAR,
    primary_rule_id VARCHAR, removed_minutes_json VARCHAR
);

CREATE TABLE IF NOT EXISTS claim_outcomes (
    period VARCHAR, icn VARCHAR, line_no INTEGER, row_type VARCHAR, adjustment_ind VARCHAR, outcome VARCHAR,
    billed_units DECIMAL(12,2), billed_amount DECIMAL(12,2), paid_units DECIMAL(12,2), paid_amount DECIMAL(12,2),
    adjusted_amount DECIMAL(12,2), primary_rule_id VARCHAR, sa_number VARCHAR, sa_line_no INTEGER,
    recipient_id VARCHAR, billing_provider_id VARCHAR, procedure_code VARCHAR, modifiers VARCHAR,
    service_key VARCHAR, service_date DATE, received_date DATE, waiver_program VARCHAR,
    reverses_icn VARCHAR, reverses_period VARCHAR, source_file VARCHAR, source_row BIGINT
);

CREATE TABLE IF NOT EXISTS denial_ledger (
    period VARCHAR, icn VARCHAR, line_no INTEGER, row_type VARCHAR, rule_id VARCHAR, group_code VARCHAR,
    carc VARCHAR, rarc VARCHAR, units DECIMAL(12,2), amount DECIMAL(12,2), is_primary BOOLEAN,
    message VARCHAR, citation VARCHAR, evidence VARCHAR, source_file VARCHAR, source_row BIGINT
);

CREATE TABLE IF NOT EXISTS findings (
    period VARCHAR, rule_id VARCHAR, recipient_id VARCHAR, provider_id VARCHAR, staff_id VARCHAR,
    sa_number VARCHAR, sa_line_no INTEGER, subject_date DATE, message VARCHAR, citation VARCHAR, evidence VARCHAR
);

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR, period VARCHAR, status VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
    seconds DOUBLE, step_seconds VARCHAR, input_files VARCHAR, catalog_version VARCHAR, parameters VARCHAR,
    claim_lines BIGINT, paid_lines BIGINT, partial_lines BIGINT, denied_lines BIGINT, rejected_lines BIGINT,
    reversal_rows BIGINT, billed_amount DECIMAL(38,2), paid_amount DECIMAL(38,2), adjusted_amount DECIMAL(38,2),
    rejected_amount DECIMAL(38,2), rejected_records BIGINT
);
-- sums of DECIMAL(12,2) amounts are DECIMAL(38,2): a month's total can pass 10^12 (warehouses made before)
ALTER TABLE runs ALTER COLUMN billed_amount TYPE DECIMAL(38,2);
ALTER TABLE runs ALTER COLUMN paid_amount TYPE DECIMAL(38,2);
ALTER TABLE runs ALTER COLUMN adjusted_amount TYPE DECIMAL(38,2);
ALTER TABLE runs ALTER COLUMN rejected_amount TYPE DECIMAL(38,2);

CREATE TABLE IF NOT EXISTS run_steps (
    run_id VARCHAR, period VARCHAR, step VARCHAR, seconds DOUBLE, rows BIGINT
);

-- Revision 2 inputs for the X12 835, appended last so the positional inserts of ingest stay valid on
-- warehouses created before them: the provider's own claim number (CLP01) and a UMPI provider's tax id (N1*PE FI).
ALTER TABLE claims ADD COLUMN IF NOT EXISTS patient_control_number VARCHAR;
ALTER TABLE providers ADD COLUMN IF NOT EXISTS tin VARCHAR;

-- One row per billing provider with adjudicated lines in the period: what its 835 pays and the balance it owes
-- from earlier 835s (claimrecon/x12.py). claims_paid = ΣCLP04 = sum(paid_amount) of its adjudicated lines;
-- payment_amount = BPR02 = claims_paid + forwarded - recovered (never negative); forwarded and recovered are
-- the PLB FB amounts; closing_balance = opening_balance + forwarded - recovered (what the provider still owes).
CREATE TABLE IF NOT EXISTS provider_balances (
    period VARCHAR, billing_provider_id VARCHAR, opening_balance DECIMAL(14,2), claims_paid DECIMAL(14,2),
    forwarded DECIMAL(14,2), recovered DECIMAL(14,2), payment_amount DECIMAL(14,2), closing_balance DECIMAL(14,2),
    trace_number VARCHAR, balance_trace VARCHAR, x12_file VARCHAR, withheld_reason VARCHAR
);

CREATE OR REPLACE VIEW payable_claims AS
SELECT period, icn, line_no, recipient_id, billing_provider_id, procedure_code, modifiers, service_key,
       service_date, received_date, paid_units, paid_amount, sa_number, sa_line_no, outcome
FROM claim_outcomes
WHERE row_type = 'line' AND paid_units > 0;
