-- kpi_paid_media: every paid-media KPI per client, channel and campaign, by day, week and month.
-- grain:   client x period (day | week | month) x period_start x platform x channel x campaign.
-- inputs:  `ad_performance` (amounts in the reporting currency), `attribution_by_campaign`
--          (CRM leads and revenue credited linearly).
-- columns: client_id, period, period_start, platform, channel, campaign_id, campaign_name,
--          currency, impressions, clicks, spend, conversions, conversion_value, leads, revenue,
--          ctr, cpc, cpm, cpl, cpa, conversion_rate, roas, roi, platform_roas, platform_roi
-- notes:   each ratio is sum(numerator) / sum(denominator) at the row's grain, NULL when the
--          denominator is 0: ctr = clicks / impressions; cpc = spend / clicks; cpm = 1000 x spend /
--          impressions; cpa = spend / conversions; conversion_rate = conversions / clicks — on the
--          platform's own conversions. leads and revenue are what attribution credits the
--          campaign in the row's channel (by its lower-cased name; linear model): CRM leads, and the value of won deals
--          and web purchases. cpl = spend / leads; roas = revenue / spend; roi = (revenue −
--          spend) / spend (on revenue, not gross profit). What the platform claims is
--          platform_roas = conversion_value / spend and platform_roi = (conversion_value − spend)
--          / spend. Weeks start on Monday. To roll up further (e.g. a channel's month), sum the
--          counts and amounts and divide again — never average the ratios.
WITH daily AS (
    SELECT client_id, date, platform, channel, campaign_id, max(campaign_name) AS campaign_name,
           max(currency) AS currency, sum(impressions) AS impressions, sum(clicks) AS clicks,
           sum(spend) AS spend, sum(conversions) AS conversions, sum(conversion_value) AS conversion_value
    FROM ad_performance
    GROUP BY client_id, date, platform, channel, campaign_id
),
-- The period kinds a row is counted in. Joined (not a UNION ALL of three reads), so each input is
-- read once; a filter on `period` reaches this list.
kinds AS (
    SELECT column1 AS period FROM (VALUES ('day'), ('week'), ('month'))
),
periods AS (
    SELECT kinds.period,
           CASE kinds.period
               WHEN 'day' THEN daily.date
               WHEN 'week' THEN CAST(date_trunc('week', daily.date) AS DATE)
               ELSE CAST(date_trunc('month', daily.date) AS DATE)
           END AS period_start,
           daily.*
    FROM daily CROSS JOIN kinds
),
rolled AS (
    SELECT client_id, period, period_start, platform, channel, campaign_id,
           max(campaign_name) AS campaign_name, max(currency) AS currency,
           sum(impressions) AS impressions, sum(clicks) AS clicks, sum(spend) AS spend,
           sum(conversions) AS conversions, sum(conversion_value) AS conversion_value
    FROM periods
    GROUP BY client_id, period, period_start, platform, channel, campaign_id
),
leads AS (
    SELECT client_id, conversion_date, channel, campaign,
           sum(CASE WHEN conversion_type = 'lead' THEN conversions ELSE 0.0 END) AS leads,
           sum(CASE WHEN conversion_type IN ('won_deal', 'purchase') THEN value ELSE 0.0 END) AS revenue
    FROM attribution_by_campaign
    WHERE model = 'linear' AND conversion_type IN ('lead', 'won_deal', 'purchase')
    GROUP BY client_id, conversion_date, channel, campaign
),
-- The credits rolled up into the same periods (a day is in the week and month its date_trunc
-- starts), so each campaign period meets its credits by equality, not by a date range.
lead_buckets AS (
    SELECT client_id, channel, campaign, kinds.period,
           CASE kinds.period
               WHEN 'day' THEN conversion_date
               WHEN 'week' THEN CAST(date_trunc('week', conversion_date) AS DATE)
               ELSE CAST(date_trunc('month', conversion_date) AS DATE)
           END AS period_start,
           sum(leads) AS leads, sum(revenue) AS revenue
    FROM leads CROSS JOIN kinds
    GROUP BY client_id, channel, campaign, kinds.period, 5
),
-- Each campaign period (a row per channel) with the credits of its channel and campaign name,
-- joined to the one roll-up: DataFusion does not share a CTE, and reading ad_performance twice
-- was most of this view's cost.
credited AS (
    SELECT r.*, l.leads, l.revenue
    FROM rolled r
    LEFT JOIN lead_buckets l
        ON l.client_id = r.client_id AND l.channel = r.channel
        AND l.campaign = lower(trim(r.campaign_name))
        AND l.period = r.period AND l.period_start = r.period_start
)
SELECT
    r.client_id, r.period, r.period_start, r.platform, r.channel, r.campaign_id, r.campaign_name,
    r.currency, r.impressions, r.clicks, r.spend, r.conversions, r.conversion_value,
    COALESCE(r.leads, 0.0) AS leads,
    COALESCE(r.revenue, 0.0) AS revenue,
    CAST(r.clicks AS DOUBLE) / NULLIF(r.impressions, 0) AS ctr,
    r.spend / NULLIF(r.clicks, 0) AS cpc,
    1000.0 * r.spend / NULLIF(r.impressions, 0) AS cpm,
    r.spend / NULLIF(COALESCE(r.leads, 0.0), 0) AS cpl,
    r.spend / NULLIF(r.conversions, 0) AS cpa,
    r.conversions / NULLIF(r.clicks, 0) AS conversion_rate,
    COALESCE(r.revenue, 0.0) / NULLIF(r.spend, 0) AS roas,
    (COALESCE(r.revenue, 0.0) - r.spend) / NULLIF(r.spend, 0) AS roi,
    r.conversion_value / NULLIF(r.spend, 0) AS platform_roas,
    (r.conversion_value - r.spend) / NULLIF(r.spend, 0) AS platform_roi
FROM credited r
