-- Compliance findings (reported, never denied) by rule and provider for the latest period.
SELECT rule_id, provider_id, count(*) AS findings, any_value(message) AS message
FROM findings WHERE period = (SELECT max(period) FROM findings)
GROUP BY ALL ORDER BY findings DESC, rule_id, provider_id;
