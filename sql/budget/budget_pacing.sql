-- budget_pacing: planned spend against spend to date and the month-end projection, beside each
--          channel's average and marginal ROAS — where the next euro should go.
-- grain:   one row per `budgets` row: client x month x channel (x campaign, when the budget
--          names one).
-- inputs:  `budgets` (the project's planned spend), `ad_performance`, forecast(62) (spend ahead),
--          `response_curves` (the channel's average and marginal ROAS).
-- columns: client_id, month, channel, campaign, planned_spend, spend_to_date, days_in_month,
--          days_elapsed, expected_to_date, pacing, forecast_rest_of_month, projected_spend,
--          projected_gap, average_roas, marginal_roas, fitted_weeks, r2
-- notes:   days_elapsed counts the month's days up to the client's last day of ad data;
--          expected_to_date = planned x days_elapsed / days_in_month; pacing = spend_to_date /
--          expected_to_date (1 = on plan). projected_spend = spend to date + the channel's spend
--          forecast for the month's remaining days (a campaign budget takes the campaign's share
--          of the channel's spend this month, or over all history before it spends); projected_gap = projected − planned (over plan when
--          positive). average_roas, marginal_roas, fitted_weeks and r2 are the channel's
--          (client x channel) from `response_curves`: the linear credit of won deals and
--          purchases by touch week over spend, and the power curve's marginal ROAS at the latest
--          spend (NULL unless fitted on >= 8 weeks with |t| >= 2).
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
    r.marginal_roas,
    r.fitted_weeks,
    r.r2
FROM dated d
LEFT JOIN spent s ON s.client_id = d.client_id AND s.month = d.month AND s.channel = d.channel
    AND s.campaign IS NOT DISTINCT FROM d.campaign
LEFT JOIN ahead a ON a.client_id = d.client_id AND a.month = d.month AND a.channel = d.channel
    AND a.campaign IS NOT DISTINCT FROM d.campaign
LEFT JOIN history h ON h.client_id = d.client_id AND h.month = d.month AND h.channel = d.channel
    AND h.campaign IS NOT DISTINCT FROM d.campaign
LEFT JOIN response_curves r ON r.client_id = d.client_id AND r.channel = d.channel
