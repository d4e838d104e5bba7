-- roi_by_campaign: closed-loop ROI per campaign — each campaign's spend against the CRM outcomes
--          each model credits to it.
-- grain:   client x month x channel x campaign x model.
-- inputs:  `ad_performance` (spend in the reporting currency), `attribution_by_campaign`,
--          `costs`.
-- columns: client_id, month, channel, campaign, model, spend, leads, customers, conversions,
--          revenue, roas, roi, cpl, cpa, cac
-- notes:   an ad campaign meets its credits by channel and lower-cased, trimmed name (the UTM
--          campaign of the sessions its clicks started, lower-cased by `sessions`), so tag links
--          with the campaign's name. Otherwise as `roi_by_channel`: leads and customers are
--          credited `lead` and `new_customer` conversions, cac adds the month's `costs` per new
--          customer, conversions credited leads and purchases (cpa =
--          spend / conversions), revenue credited won deals and purchases;
--          ratios with a zero or missing denominator are NULL; campaigns without spend (organic,
--          CRM campaigns) keep their credits with NULL spend.
WITH spend AS (
    SELECT client_id, CAST(date_trunc('month', date) AS DATE) AS month, channel,
           lower(trim(campaign_name)) AS campaign, sum(spend) AS spend
    FROM ad_performance
    GROUP BY 1, 2, 3, 4
),
costs_by_month AS (
    -- The month's acquisition costs besides media.
    SELECT client_id, CAST(month AS DATE) AS month, sum(amount) AS cost FROM costs GROUP BY 1, 2
),
models AS (
    SELECT column1 AS model FROM (VALUES ('first_touch'), ('last_touch'), ('last_non_direct'),
        ('linear'), ('position_based'), ('time_decay'), ('w_shaped'), ('markov'), ('shapley'), ('equal_distinct'))
),
credited AS (
    SELECT client_id, CAST(date_trunc('month', conversion_date) AS DATE) AS month, channel,
           campaign, model,
           sum(CASE WHEN conversion_type = 'lead' THEN conversions ELSE 0.0 END) AS leads,
           sum(CASE WHEN conversion_type = 'new_customer' THEN conversions ELSE 0.0 END) AS customers,
           sum(CASE WHEN conversion_type IN ('lead', 'purchase') THEN conversions ELSE 0.0 END) AS conversions,
           sum(CASE WHEN conversion_type IN ('won_deal', 'purchase') THEN value ELSE 0.0 END) AS revenue
    FROM attribution_by_campaign
    GROUP BY 1, 2, 3, 4, 5
),
credited_months AS (
    -- Each model credits every conversion once: its new customers of the client and month.
    SELECT credited.*,
           sum(customers) OVER (PARTITION BY client_id, month, model) AS month_customers
    FROM credited
),
spend_by_model AS (
    SELECT spend.*, models.model FROM spend CROSS JOIN models
)
SELECT
    COALESCE(s.client_id, c.client_id) AS client_id,
    COALESCE(s.month, c.month) AS month,
    COALESCE(s.channel, c.channel) AS channel,
    COALESCE(s.campaign, c.campaign) AS campaign,
    COALESCE(s.model, c.model) AS model,
    s.spend,
    COALESCE(c.leads, 0.0) AS leads,
    COALESCE(c.customers, 0.0) AS customers,
    COALESCE(c.conversions, 0.0) AS conversions,
    COALESCE(c.revenue, 0.0) AS revenue,
    COALESCE(c.revenue, 0.0) / NULLIF(s.spend, 0) AS roas,
    (COALESCE(c.revenue, 0.0) - s.spend) / NULLIF(s.spend, 0) AS roi,
    s.spend / NULLIF(c.leads, 0) AS cpl,
    s.spend / NULLIF(c.conversions, 0) AS cpa,
    s.spend / NULLIF(c.customers, 0) + COALESCE(o.cost / NULLIF(c.month_customers, 0), 0.0) AS cac
FROM spend_by_model s
FULL OUTER JOIN credited_months c
    ON c.client_id = s.client_id AND c.month = s.month AND c.channel = s.channel
    AND c.campaign = s.campaign AND c.model = s.model
LEFT JOIN costs_by_month o
    ON o.client_id = COALESCE(s.client_id, c.client_id) AND o.month = COALESCE(s.month, c.month)
