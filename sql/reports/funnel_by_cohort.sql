/*---
title = "Funnel conversion by lead cohort"
description = "Of the leads created each month, how many became MQLs, SQLs, opportunities and customers, and how fast."
formats = ["html", "csv"]
schedule = "0 7 2 * *"
period = { start = "start", end = "end" }
summary = "{sum:leads} leads → {sum:customers} customers ({ratio:customers/leads} lead-to-customer)"

[[params]]
name = "start"
type = "date"
description = "First cohort month. Default: the earliest."
default_sql = "SELECT min(cohort_month) FROM funnel_cohorts"

[[params]]
name = "end"
type = "date"
description = "Last day of the last cohort month. Default: the end of the latest."
default_sql = "SELECT max(cohort_month) + INTERVAL '1 month' - INTERVAL '1 day' FROM funnel_cohorts"

[chart]
type = "stacked_bar"
x = "cohort_month"
y = "leads"
series = "source_system"
---*/
SELECT client_id, source_system, cohort_month, leads, mqls, sqls, opportunities, customers,
       lead_to_mql_rate, mql_to_sql_rate, sql_to_opportunity_rate, opportunity_to_customer_rate,
       lead_to_customer_rate, avg_days_lead_to_customer
FROM funnel_cohorts
WHERE cohort_month BETWEEN date_trunc('month', $start) AND $end
ORDER BY client_id, source_system, cohort_month
