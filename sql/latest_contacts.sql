-- Service logs are cumulative: latest_contacts(p) is the latest version of each contact known at period p (the
-- contacts table's columns without the stored instants; sql/current_contacts.sql derives them). A table macro, so
-- the log step and the findings read one definition.
CREATE OR REPLACE TEMP MACRO latest_contacts(p) AS TABLE
WITH multi AS (   -- the few contacts known in more than one version: only they need ordering
    SELECT provider_id, log_id FROM contacts WHERE period <= p GROUP BY ALL HAVING count(*) > 1),
latest AS (
    SELECT * EXCLUDE (start_ts, end_ts, duration_minutes) FROM contacts c
    WHERE period <= p
      AND NOT EXISTS (SELECT 1 FROM multi m WHERE m.provider_id = c.provider_id AND m.log_id = c.log_id)
    UNION ALL
    SELECT * EXCLUDE (rn, start_ts, end_ts, duration_minutes) FROM (
        SELECT c.*, row_number() OVER (PARTITION BY provider_id, log_id
                                       ORDER BY period DESC, source_file DESC, source_row DESC) AS rn
        FROM contacts c WHERE period <= p
          AND EXISTS (SELECT 1 FROM multi m WHERE m.provider_id = c.provider_id AND m.log_id = c.log_id))
    WHERE rn = 1)
SELECT * FROM latest;
