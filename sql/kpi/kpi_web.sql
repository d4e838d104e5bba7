-- kpi_web: web analytics KPIs per client and channel, by day, week and month.
-- grain:   client x period (day | week | month) x period_start x channel.
-- inputs:  `sessions`.
-- columns: client_id, period, period_start, channel, sessions, users, engaged_sessions,
--          converting_sessions, page_views, bounce_rate, pages_per_session,
--          avg_session_duration_seconds, conversion_rate, revenue
-- notes:   days are the client's reporting days (session_date); weeks start on Monday. users =
--          distinct analytics user ids in the period; engaged: the analytics tool says so, or 2+
--          page views, or a conversion (see `sessions`); bounce_rate = 1 - engaged / sessions;
--          pages_per_session = page views / sessions; avg_session_duration_seconds = sum(last -
--          first event time) / sessions; conversion_rate = converting sessions / sessions. Users
--          do not add up across rows (a user can come back in another period or channel).
WITH periods AS (
    SELECT 'day' AS period, session_date AS period_start, sessions.* FROM sessions
    UNION ALL
    SELECT 'week', CAST(date_trunc('week', session_date) AS DATE), sessions.* FROM sessions
    UNION ALL
    SELECT 'month', CAST(date_trunc('month', session_date) AS DATE), sessions.* FROM sessions
)
SELECT
    client_id, period, period_start, channel,
    count(*) AS sessions,
    count(DISTINCT user_id) AS users,
    sum(CASE WHEN engaged THEN 1 ELSE 0 END) AS engaged_sessions,
    sum(CASE WHEN conversions > 0 THEN 1 ELSE 0 END) AS converting_sessions,
    sum(page_views) AS page_views,
    1.0 - CAST(sum(CASE WHEN engaged THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS bounce_rate,
    CAST(sum(page_views) AS DOUBLE) / count(*) AS pages_per_session,
    sum(duration_seconds) / count(*) AS avg_session_duration_seconds,
    CAST(sum(CASE WHEN conversions > 0 THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS conversion_rate,
    sum(revenue) AS revenue
FROM periods
GROUP BY client_id, period, period_start, channel
