-- triangulation: conversions and revenue per client, day and channel as each source reports
--          them — the ad platforms, web analytics and the CRM — with the gaps between them.
-- grain:   client x day x channel.
-- inputs:  `ad_performance` (platform-reported), `sessions` (web purchases), `attribution_by_channel`
--          (CRM leads and won-deal revenue, last non-direct, by the day they happened).
-- columns: client_id, date, channel, platform_conversions, web_conversions, crm_leads,
--          platform_revenue, web_revenue, crm_revenue, platform_vs_crm_gap, platform_vs_crm_ratio,
--          web_vs_crm_revenue_gap, web_vs_crm_revenue_ratio, flagged
-- notes:   a source with nothing for a row shows NULL (not reported), not 0. Platforms count a
--          conversion on the click's day in their own windows; the CRM on the day the lead was
--          created, credited to the channel of the last non-direct touch, as GA4 does — so small
--          daily gaps are timing, and gaps that persist are over- or under-reporting. gap = source
--          − CRM, ratio = source / CRM (NULL when the CRM has 0). flagged: the platform's
--          conversions or the web's revenue differ from the CRM's by more than
--          loopql.triangulation.tolerance (0.2 = 20%) of the CRM's number, or the CRM has none.
WITH platform AS (
    SELECT client_id, date, channel, sum(conversions) AS conversions, sum(conversion_value) AS revenue
    FROM ad_performance GROUP BY 1, 2, 3
),
web AS (
    SELECT client_id, session_date AS date, channel, sum(conversions) AS conversions, sum(revenue) AS revenue
    FROM sessions WHERE conversions > 0 GROUP BY 1, 2, 3
),
crm AS (
    SELECT client_id, conversion_date AS date, channel,
           sum(CASE WHEN conversion_type = 'lead' THEN conversions ELSE 0.0 END) AS leads,
           sum(CASE WHEN conversion_type = 'won_deal' THEN value ELSE 0.0 END) AS revenue
    FROM attribution_by_channel
    WHERE model = 'last_non_direct' AND conversion_type IN ('lead', 'won_deal')
    GROUP BY 1, 2, 3
),
rows AS (
    -- The three sources stacked, then grouped by the keys: a row for every key any source has, as
    -- FULL OUTER JOINs would give, but filters on the keys (client, date, channel) reach every
    -- source — the attribution function included. The other sources' measures are NULLIF(x, x)
    -- (always NULL), not NULL literals: DataFusion 55 treats a per-branch literal as a constant
    -- of the whole UNION (see `roi_by_channel`).
    SELECT client_id, date, channel,
           conversions AS platform_conversions, revenue AS platform_revenue,
           CAST(NULLIF(conversions, conversions) AS BIGINT) AS web_conversions,
           NULLIF(revenue, revenue) AS web_revenue,
           NULLIF(conversions, conversions) AS crm_leads, NULLIF(revenue, revenue) AS crm_revenue
    FROM platform
    UNION ALL
    SELECT client_id, date, channel,
           CAST(NULLIF(conversions, conversions) AS DOUBLE), NULLIF(revenue, revenue),
           conversions, revenue,
           CAST(NULLIF(conversions, conversions) AS DOUBLE), NULLIF(revenue, revenue)
    FROM web
    UNION ALL
    SELECT client_id, date, channel,
           NULLIF(leads, leads), NULLIF(revenue, revenue),
           CAST(NULLIF(leads, leads) AS BIGINT), NULLIF(revenue, revenue),
           leads, revenue
    FROM crm
),
joined AS (
    SELECT client_id, date, channel,
           sum(platform_conversions) AS platform_conversions, sum(web_conversions) AS web_conversions,
           sum(crm_leads) AS crm_leads, sum(platform_revenue) AS platform_revenue,
           sum(web_revenue) AS web_revenue, sum(crm_revenue) AS crm_revenue
    FROM rows
    GROUP BY client_id, date, channel
)
SELECT
    client_id, date, channel, platform_conversions, web_conversions, crm_leads,
    platform_revenue, web_revenue, crm_revenue,
    platform_conversions - COALESCE(crm_leads, 0.0) AS platform_vs_crm_gap,
    platform_conversions / NULLIF(crm_leads, 0) AS platform_vs_crm_ratio,
    web_revenue - COALESCE(crm_revenue, 0.0) AS web_vs_crm_revenue_gap,
    web_revenue / NULLIF(crm_revenue, 0) AS web_vs_crm_revenue_ratio,
    COALESCE(
        abs(platform_conversions - COALESCE(crm_leads, 0.0))
            > CAST(loopql_setting('triangulation.tolerance') AS DOUBLE) * COALESCE(crm_leads, 0.0),
        false
    ) OR COALESCE(
        abs(web_revenue - COALESCE(crm_revenue, 0.0))
            > CAST(loopql_setting('triangulation.tolerance') AS DOUBLE) * COALESCE(crm_revenue, 0.0),
        false
    ) AS flagged
FROM joined
