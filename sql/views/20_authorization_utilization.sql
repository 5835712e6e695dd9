-- authorization_utilization: per service agreement line of the latest snapshot, units authorized,
-- paid so far (every period, net of voids and replacements), remaining, and whether it is near
-- exhaustion (less than 10 % left, or nothing left).
CREATE OR REPLACE VIEW authorization_utilization AS
WITH latest AS (
    SELECT * FROM sa_lines WHERE period = (SELECT max(period) FROM sa_lines)
), used AS (
    SELECT sa_number, sa_line_no, sum(paid_units) AS used_units, max(period) AS last_paid_period
    FROM claim_outcomes WHERE sa_number IS NOT NULL GROUP BY ALL
)
SELECT l.period AS snapshot_period, l.sa_number, l.line_no AS sa_line_no, l.provider_id, l.waiver_program,
       l.service_key, l.procedure_code, l.modifiers, l.start_date, l.end_date, l.line_status,
       l.authorized_units,
       coalesce(u.used_units, 0) AS used_units,
       l.authorized_units - coalesce(u.used_units, 0) AS remaining_units,
       CASE WHEN l.authorized_units > 0
            THEN round(100 * coalesce(u.used_units, 0) / l.authorized_units, 1) END AS pct_used,
       (l.authorized_units - coalesce(u.used_units, 0)) < 0.10 * l.authorized_units AS near_exhaustion,
       u.last_paid_period
FROM latest l LEFT JOIN used u ON u.sa_number = l.sa_number AND u.sa_line_no = l.line_no;
