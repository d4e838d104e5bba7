/*---
title = "Channel ROAS by attribution model"
description = "How each attribution model credits revenue to channels in one month: where the models agree, the channel's value is clear; where they disagree, look closer."
formats = ["html"]
period = { month = "month" }
summary = "{rows} channel × model rows · spend {sum:spend}"

[[params]]
name = "month"
type = "date"
description = "Any day of the month to report. Default: the latest month with ad data."
default_sql = "SELECT date_trunc('month', max(date)) FROM ad_performance"

[chart]
type = "bar"
x = "channel"
y = "roas"
series = "model"
---*/
SELECT client_id, channel, model, sum(spend) AS spend, sum(revenue) AS revenue,
       sum(revenue) / NULLIF(sum(spend), 0) AS roas
FROM roi_by_channel
WHERE month = date_trunc('month', $month) AND spend > 0
GROUP BY client_id, channel, model
ORDER BY client_id, channel, model
