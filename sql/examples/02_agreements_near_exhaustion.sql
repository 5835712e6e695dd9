-- Service agreement lines with less than 10 % of their units left: case managers may need to amend.
SELECT sa_number, sa_line_no, provider_id, service_key, authorized_units, used_units, remaining_units, pct_used
FROM authorization_utilization
WHERE near_exhaustion
ORDER BY pct_used DESC, sa_number, sa_line_no;
