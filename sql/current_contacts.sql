-- Parameters: $period, $buckets: each contact is tagged with its person's bucket (hash(recipient_id) %
-- $buckets); judging reads one bucket of people at a time to bound memory.
-- Service logs are cumulative: the latest version of each contact known at this period.
CREATE OR REPLACE TEMP TABLE cur_contacts AS
SELECT * EXCLUDE (rn), hash(recipient_id) % $buckets AS _bucket FROM (
    SELECT c.*, row_number() OVER (PARTITION BY provider_id, log_id
                                   ORDER BY period DESC, source_file DESC, source_row DESC) AS rn
    FROM contacts c WHERE period <= $period)
WHERE rn = 1;


-- The person-dates this period's claims bill (their contacts are in scope whenever they were logged).
CREATE OR REPLACE TEMP TABLE claim_days AS
SELECT DISTINCT hash(recipient_id) % $buckets AS _bucket, recipient_id, service_date FROM claims WHERE period = $period;
