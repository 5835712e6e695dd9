-- The service groups the rules use, from the agency-editable procedure catalog (never literals).
-- Parameter: $period.
CREATE OR REPLACE TEMP TABLE svc AS
SELECT service_key,
       any_value(unit) AS unit,
       bool_or(list_contains(string_split(groups, ' '), 'ihs')) AS is_ihs,
       bool_or(list_contains(string_split(groups, ' '), 'ihs_remote')) AS is_ihs_remote,
       bool_or(list_contains(string_split(groups, ' '), 'ihs_in_person')) AS is_ihs_in_person,
       bool_or(list_contains(string_split(groups, ' '), 'ihs_with_training')) AS is_wt,
       bool_or(list_contains(string_split(groups, ' '), 'ihs_family_training')) AS is_ft,
       bool_or(list_contains(string_split(groups, ' '), 'ihs_without_training')) AS is_wot,
       bool_or(list_contains(string_split(groups, ' '), 'ihs_daily')) AS is_daily,
       bool_or(list_contains(string_split(groups, ' '), 'not_at_same_time_as_ihs')) AS not_with_ihs,
       bool_or(list_contains(string_split(groups, ' '), 'not_authorized_with_ihs')) AS residential,
       bool_or(list_contains(string_split(groups, ' '), 'residential_crs_frs')) AS res_crs_frs,
       bool_or(list_contains(string_split(groups, ' '), 'residential_customized_living')) AS res_cust_living,
       bool_or(list_contains(string_split(groups, ' '), 'case_management')) AS is_cm,
       bool_or(list_contains(string_split(groups, ' '), 'case_management_aide')) AS is_cma,
       bool_or(list_contains(string_split(groups, ' '), 'tcm')) AS is_tcm
FROM procedure_codes WHERE period = $period GROUP BY service_key;


-- Per procedure code + modifier set (modifiers sorted, as loaded): the catalog's ratio and delivery, read by
-- IHS-DELIVERY-CODE and IHS-RATIO-CODE (a ratio/delivery of '' means the catalog gives none).
CREATE OR REPLACE TEMP TABLE svc_code AS
SELECT DISTINCT procedure_code, modifiers, service_key, nullif(ratio, '') AS code_ratio, nullif(delivery, '') AS code_delivery
FROM procedure_codes WHERE period = $period;
