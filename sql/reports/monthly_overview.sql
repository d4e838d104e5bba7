/*---
title = "Monthly client overview"
description = "Spend, leads, new customers, revenue and ROAS per channel for one month, against the month before, with the campaigns whose ROAS rose and fell most."
formats = ["html", "csv"]
schedule = "0 6 2 * *"
period = { month = "month" }
compare = true
summary = "Spend {sum:spend} ({change:spend}) · leads {sum:leads} ({change:leads}) · new customers {sum:customers} ({change:customers}) · revenue {sum:revenue} ({change:revenue}) · ROAS {ratio:revenue/spend} ({ratio_change:revenue/spend})"

[[params]]
name = "month"
type = "date"
description = "Any day of the month to report (YYYY-MM or YYYY-MM-DD). Default: the latest month with ad data."
default_sql = "SELECT date_trunc('month', max(date)) FROM ad_performance"

[[params]]
name = "model"
type = "string"
default = "last_non_direct"
allowed = ["first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "w_shaped", "markov", "shapley", "equal_distinct"]
description = "Attribution model crediting leads, new customers and revenue to channels."

[chart]
type = "bar"
x = "channel"
y = "revenue"
series = "client_id"

[highlights]
sql = """
SELECT channel || ' · ' || campaign AS campaign, sum(revenue) / NULLIF(sum(spend), 0) AS roas
FROM roi_by_campaign
WHERE month = date_trunc('month', $month) AND model = $model
GROUP BY 1
HAVING sum(spend) > 0
"""
key = "campaign"
metric = "roas"
top = 3
---*/
-- One row per client and channel: spend in the client's reporting currency; leads, new
-- customers and revenue as the model credits them to the channel in the month they happened.
SELECT client_id,
       channel,
       sum(spend) AS spend,
       sum(leads) AS leads,
       sum(customers) AS customers,
       sum(revenue) AS revenue,
       sum(revenue) / NULLIF(sum(spend), 0) AS roas
FROM roi_by_channel
WHERE month = date_trunc('month', $month) AND model = $model
GROUP BY client_id, channel
ORDER BY client_id, spend DESC NULLS LAST, channel
