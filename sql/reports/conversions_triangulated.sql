/*---
title = "Conversions across sources"
description = "Weekly conversions per channel as the ad platforms, web analytics and the CRM count them, with the gaps. Platforms claim conversions in their own windows; gaps that persist week after week are over- or under-reporting."
formats = ["html", "csv"]
period = { start = "start", end = "end" }
summary = "Platforms claim {sum:platform_conversions} conversions, the CRM credits {sum:crm_leads} leads (ratio {ratio:platform_conversions/crm_leads})"

[[params]]
name = "start"
type = "date"
description = "First day. Default: four weeks before the latest ad data."
default_sql = "SELECT max(date) - INTERVAL '27 days' FROM ad_performance"

[[params]]
name = "end"
type = "date"
description = "Last day. Default: the latest day of ad data."
default_sql = "SELECT max(date) FROM ad_performance"

[chart]
type = "line"
x = "week"
y = "platform_vs_crm_ratio"
series = "channel"
---*/
SELECT client_id,
       CAST(date_trunc('week', date) AS DATE) AS week,
       channel,
       sum(platform_conversions) AS platform_conversions,
       sum(web_conversions) AS web_conversions,
       sum(crm_leads) AS crm_leads,
       sum(platform_conversions) - sum(crm_leads) AS platform_vs_crm_gap,
       sum(platform_conversions) / NULLIF(sum(crm_leads), 0) AS platform_vs_crm_ratio
FROM triangulation
WHERE date BETWEEN $start AND $end AND platform_conversions IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
