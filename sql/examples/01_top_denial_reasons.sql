-- The ten reasons that cost providers the most across all periods in the warehouse, with their policy citation.
SELECT rule_id, carc, rarc, sum(lines) AS lines, sum(amount) AS amount, any_value(citation) AS citation
FROM denials_by_rule_provider
GROUP BY ALL ORDER BY amount DESC LIMIT 10;
