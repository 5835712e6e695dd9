-- The latest month's providers, least clean first.
SELECT billing_provider_id, claim_lines, pct_lines_paid_in_full, pct_dollars_paid, denied_amount, findings
FROM provider_scorecard
WHERE period = (SELECT max(period) FROM provider_scorecard)
ORDER BY pct_dollars_paid ASC NULLS FIRST, billing_provider_id;
