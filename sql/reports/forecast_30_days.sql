/*---
title = "30-day forecast"
description = "Daily forecast per channel for the next days after the latest data, with its 95% prediction interval (damped additive Holt-Winters, weekly season)."
formats = ["html", "csv"]
schedule = "0 6 * * 1"
summary = "Next {rows} channel-days: {param:metric} forecast {sum:forecast} (interval {sum:lower} – {sum:upper})"

[[params]]
name = "metric"
type = "string"
default = "spend"
allowed = ["spend", "conversions", "revenue"]

[[params]]
name = "days"
type = "int"
default = 30
description = "Days ahead (at most loopql.forecast.horizon_days, 30 by default)."

[chart]
type = "line"
x = "date"
y = "forecast"
series = "channel"
---*/
SELECT client_id, channel, date, horizon_day, forecast, lower, upper, method
FROM forecast_daily
WHERE metric = $metric AND horizon_day <= $days
ORDER BY client_id, channel, date
