-- Parameter: $period.
-- Service logs are cumulative: the latest version of each contact known at this period.
CREATE OR REPLACE TEMP TABLE cur_contacts AS
SELECT * EXCLUDE (rn) FROM (
    SELECT c.*, row_number() OVER (PARTITION BY provider_id, log_id
                                   ORDER BY period DESC, source_file DESC, source_row DESC) AS rn
    FROM contacts c WHERE period <= $period)
WHERE rn = 1;

