-- response_curves: how each channel's revenue answers its spend — the power curve
--          revenue_w = a · spend_w^b fitted over weeks, and the marginal ROAS it implies: what
--          the next unit of spend at the latest level returns (DOMAIN.md §3).
-- grain:   client x channel (channels with ad spend).
-- inputs:  `ad_performance` (weekly spend), attribution('channel', 'linear', 'touch') (the
--          linear credit of won deals and purchases, counted in the week of the touch that
--          earned it, not of the conversion, which lags).
-- columns: client_id, channel, weeks, spend, revenue, average_roas, fitted_weeks, elasticity,
--          t_stat, r2, latest_weekly_spend, marginal_roas
-- notes:   Weeks run Monday to Sunday; only weeks wholly inside the client's ad data count (a
--          partial first or last week would look like a spend cut). weeks, spend and revenue
--          are over those weeks; average_roas = revenue / spend. The fit is least squares of
--          ln(revenue) on ln(spend) over the weeks with both positive (fitted_weeks = n):
--          elasticity = b, t_stat = b / its standard error, r2 the fit's R². marginal_roas =
--          d revenue / d spend at the latest fitted week's spend s = b · a · s^(b−1) (b times
--          the curve's ROAS there); NULL unless n ≥ 8 and |t| ≥ 2, since a curve the data do
--          not support says nothing about the margin. b < 1: diminishing returns (the margin
--          is below the average); b > 1: rising returns.
WITH span AS (
    SELECT client_id, min(date) AS first_date, max(date) AS last_date
    FROM ad_performance WHERE spend IS NOT NULL GROUP BY client_id
),
spend AS (
    SELECT a.client_id, a.channel, CAST(date_trunc('week', a.date) AS DATE) AS week, sum(a.spend) AS spend
    FROM ad_performance a
    JOIN span s ON s.client_id = a.client_id
    WHERE a.spend IS NOT NULL
      AND CAST(date_trunc('week', a.date) AS DATE) >= s.first_date
      AND CAST(CAST(date_trunc('week', a.date) AS DATE) + INTERVAL '6' DAY AS DATE) <= s.last_date
    GROUP BY 1, 2, 3
),
revenue AS (
    SELECT client_id, channel, CAST(date_trunc('week', touch_date) AS DATE) AS week, sum(value) AS revenue
    FROM attribution('channel', 'linear', 'touch')
    WHERE conversion_type IN ('won_deal', 'purchase')
    GROUP BY 1, 2, 3
),
weekly AS (
    SELECT s.client_id, s.channel, s.week, s.spend, COALESCE(r.revenue, 0.0) AS revenue,
           CASE WHEN s.spend > 0 AND r.revenue > 0 THEN ln(s.spend) END AS x,
           CASE WHEN s.spend > 0 AND r.revenue > 0 THEN ln(r.revenue) END AS y
    FROM spend s
    LEFT JOIN revenue r ON r.client_id = s.client_id AND r.channel = s.channel AND r.week = s.week
),
fit AS (
    SELECT client_id, channel,
           count(*) AS weeks,
           sum(spend) AS spend,
           sum(revenue) AS revenue,
           regr_count(y, x) AS n,
           regr_slope(y, x) AS b,
           regr_intercept(y, x) AS ln_a,
           regr_r2(y, x) AS r2,
           regr_sxx(y, x) AS sxx,
           -- residual sum of squares: Syy − Sxy² / Sxx (never below 0 from rounding)
           greatest(regr_syy(y, x) - regr_sxy(y, x) * regr_sxy(y, x) / NULLIF(regr_sxx(y, x), 0), 0.0) AS sse,
           last_value(CASE WHEN y IS NOT NULL THEN spend END ORDER BY CASE WHEN y IS NOT NULL THEN week END NULLS FIRST) AS latest
    FROM weekly
    GROUP BY client_id, channel
),
tested AS (
    SELECT *,
           CASE
               WHEN n < 3 OR sxx IS NULL OR sxx = 0 THEN NULL
               WHEN sse = 0 THEN CASE WHEN b > 0 THEN CAST('Infinity' AS DOUBLE) WHEN b < 0 THEN CAST('-Infinity' AS DOUBLE) ELSE 0.0 END
               ELSE b / sqrt(sse / (n - 2) / sxx)
           END AS t
    FROM fit
)
SELECT
    client_id,
    channel,
    weeks,
    spend,
    revenue,
    revenue / NULLIF(spend, 0) AS average_roas,
    n AS fitted_weeks,
    b AS elasticity,
    t AS t_stat,
    r2,
    latest AS latest_weekly_spend,
    CASE WHEN n >= 8 AND abs(t) >= 2 THEN b * exp(ln_a) * power(latest, b - 1) END AS marginal_roas
FROM tested
