-- budget_pacing: planned spend against spend to date and the month-end projection, beside each
--          channel's average and marginal ROAS — where the next euro should go.
-- grain:   one row per `budgets` row: client x month x channel (x campaign, when the budget
--          names one).
-- inputs:  `budgets` (the project's planned spend), `ad_performance`, forecast(62) (spend ahead),
--          `attribution_by_channel` (linear credit of won deals and purchases, for ROAS).
-- columns: client_id, month, channel, campaign, planned_spend, spend_to_date, days_in_month,
--          days_elapsed, expected_to_date, pacing, forecast_rest_of_month, projected_spend,
--          projected_gap, average_roas, marginal_roas
-- notes:   days_elapsed counts the month's days up to the client's last day of ad data;
--          expected_to_date = planned x days_elapsed / days_in_month; pacing = spend_to_date /
--          expected_to_date (1 = on plan). projected_spend = spend to date + the channel's spend
--          forecast for the month's remaining days (a campaign budget takes the campaign's share
--          of the channel's spend this month, or over all history before it spends); projected_gap = projected − planned (over plan when
--          positive). average_roas = credited revenue / spend over all weeks; marginal_roas =
--          the slope of weekly credited revenue on weekly spend (what one more unit of spend has
--          returned at the margin), NULL with fewer than two weeks of varying spend.
WITH last_day AS (
    SELECT client_id, max(date) AS last_date FROM ad_performance WHERE spend IS NOT NULL GROUP BY client_id
),
plan AS (
    SELECT b.client_id, CAST(b.month AS DATE) AS month, b.channel, nullif(trim(b.campaign), '') AS campaign,
           b.planned_spend, CAST(CAST(b.month AS DATE) + INTERVAL '1' MONTH AS DATE) AS next_month
    FROM budgets b
),
spent AS (
    SELECT p.client_id, p.month, p.channel, p.campaign,
           sum(CASE WHEN p.campaign IS NULL OR lower(a.campaign_name) = lower(p.campaign) THEN a.spend ELSE 0.0 END) AS spend_to_date,
           sum(a.spend) AS channel_to_date
    FROM plan p
    JOIN ad_performance a
        ON a.client_id = p.client_id AND a.channel = p.channel AND a.date >= p.month AND a.date < p.next_month
    GROUP BY p.client_id, p.month, p.channel, p.campaign
),
ahead AS (
    SELECT p.client_id, p.month, p.channel, p.campaign, sum(f.forecast) AS forecast_channel
    FROM plan p
    JOIN forecast(62) f
        ON f.client_id = p.client_id AND f.channel = p.channel AND f.metric = 'spend'
        AND f.date >= p.month AND f.date < p.next_month
    GROUP BY p.client_id, p.month, p.channel, p.campaign
),
history AS (
    SELECT p.client_id, p.month, p.channel, p.campaign,
           sum(CASE WHEN lower(a.campaign_name) = lower(p.campaign) THEN a.spend ELSE 0.0 END)
               / NULLIF(sum(a.spend), 0) AS share
    FROM plan p
    JOIN ad_performance a ON a.client_id = p.client_id AND a.channel = p.channel
    WHERE p.campaign IS NOT NULL
    GROUP BY p.client_id, p.month, p.channel, p.campaign
),
weekly AS (
    SELECT s.client_id, s.channel, s.spend, COALESCE(r.revenue, 0.0) AS revenue
    FROM (
        SELECT client_id, channel, date_trunc('week', date) AS week, sum(spend) AS spend
        FROM ad_performance GROUP BY 1, 2, 3
    ) s
    LEFT JOIN (
        SELECT client_id, channel, date_trunc('week', conversion_date) AS week, sum(value) AS revenue
        FROM attribution_by_channel
        WHERE model = 'linear' AND conversion_type IN ('won_deal', 'purchase')
        GROUP BY 1, 2, 3
    ) r ON r.client_id = s.client_id AND r.channel = s.channel AND r.week = s.week
),
returns AS (
    SELECT client_id, channel, sum(revenue) / NULLIF(sum(spend), 0) AS average_roas,
           regr_slope(revenue, spend) AS marginal_roas
    FROM weekly GROUP BY client_id, channel
),
dated AS (
    SELECT p.*,
        (date_part('epoch', CAST(p.next_month AS TIMESTAMP)) - date_part('epoch', CAST(p.month AS TIMESTAMP))) / 86400 AS days_in_month,
        greatest(0.0, least(
            (date_part('epoch', CAST(p.next_month AS TIMESTAMP)) - date_part('epoch', CAST(p.month AS TIMESTAMP))) / 86400,
            (date_part('epoch', CAST(l.last_date AS TIMESTAMP)) - date_part('epoch', CAST(p.month AS TIMESTAMP))) / 86400 + 1
        )) AS days_elapsed
    FROM plan p
    LEFT JOIN last_day l ON l.client_id = p.client_id
)
SELECT
    d.client_id, d.month, d.channel, d.campaign, d.planned_spend,
    COALESCE(s.spend_to_date, 0.0) AS spend_to_date,
    CAST(d.days_in_month AS BIGINT) AS days_in_month,
    CAST(COALESCE(d.days_elapsed, 0.0) AS BIGINT) AS days_elapsed,
    d.planned_spend * COALESCE(d.days_elapsed, 0.0) / d.days_in_month AS expected_to_date,
    COALESCE(s.spend_to_date, 0.0) / NULLIF(d.planned_spend * COALESCE(d.days_elapsed, 0.0) / d.days_in_month, 0) AS pacing,
    COALESCE(a.forecast_channel * CASE
        WHEN d.campaign IS NULL THEN 1.0
        ELSE COALESCE(s.spend_to_date / NULLIF(s.channel_to_date, 0), h.share, 0.0)
    END, 0.0) AS forecast_rest_of_month,
    COALESCE(s.spend_to_date, 0.0) + COALESCE(a.forecast_channel * CASE
        WHEN d.campaign IS NULL THEN 1.0
        ELSE COALESCE(s.spend_to_date / NULLIF(s.channel_to_date, 0), h.share, 0.0)
    END, 0.0) AS projected_spend,
    COALESCE(s.spend_to_date, 0.0) + COALESCE(a.forecast_channel * CASE
        WHEN d.campaign IS NULL THEN 1.0
        ELSE COALESCE(s.spend_to_date / NULLIF(s.channel_to_date, 0), h.share, 0.0)
    END, 0.0) - d.planned_spend AS projected_gap,
    r.average_roas,
    r.marginal_roas
FROM dated d
LEFT JOIN spent s ON s.client_id = d.client_id AND s.month = d.month AND s.channel = d.channel
    AND s.campaign IS NOT DISTINCT FROM d.campaign
LEFT JOIN ahead a ON a.client_id = d.client_id AND a.month = d.month AND a.channel = d.channel
    AND a.campaign IS NOT DISTINCT FROM d.campaign
LEFT JOIN history h ON h.client_id = d.client_id AND h.month = d.month AND h.channel = d.channel
    AND h.campaign IS NOT DISTINCT FROM d.campaign
LEFT JOIN returns r ON r.client_id = d.client_id AND r.channel = d.channel
