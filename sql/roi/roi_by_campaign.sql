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
rows AS (
    -- Spend (once per model) and credits stacked, then grouped by the keys: a row for every key
    -- either side has, as a FULL OUTER JOIN would give, but filters on the keys (client, month,
    -- channel, campaign, model) reach both sides — the attribution function included.
    -- The other side's measures are NULLIF(x, x) (always NULL), not NULL literals: DataFusion 55
    -- treats a per-branch literal as a constant of the whole UNION (see `conversions`).
    SELECT spend.client_id, spend.month, spend.channel, spend.campaign, models.model, spend.spend,
           NULLIF(spend.spend, spend.spend) AS leads, NULLIF(spend.spend, spend.spend) AS customers,
           NULLIF(spend.spend, spend.spend) AS conversions, NULLIF(spend.spend, spend.spend) AS revenue,
           NULLIF(spend.spend, spend.spend) AS month_customers
    FROM spend CROSS JOIN models
    UNION ALL
    SELECT client_id, month, channel, campaign, model, NULLIF(leads, leads) AS spend, leads, customers, conversions, revenue,
           month_customers
    FROM credited_months
),
joined AS (
    SELECT client_id, month, channel, campaign, model, sum(spend) AS spend,
           COALESCE(sum(leads), 0.0) AS leads, COALESCE(sum(customers), 0.0) AS customers,
           COALESCE(sum(conversions), 0.0) AS conversions, COALESCE(sum(revenue), 0.0) AS revenue,
           max(month_customers) AS month_customers
    FROM rows
    GROUP BY client_id, month, channel, campaign, model
)
SELECT
    j.client_id,
    j.month,
    j.channel,
    j.campaign,
    j.model,
    j.spend,
    j.leads,
    j.customers,
    j.conversions,
    j.revenue,
    j.revenue / NULLIF(j.spend, 0) AS roas,
    (j.revenue - j.spend) / NULLIF(j.spend, 0) AS roi,
    j.spend / NULLIF(j.leads, 0) AS cpl,
    j.spend / NULLIF(j.conversions, 0) AS cpa,
    j.spend / NULLIF(j.customers, 0) + COALESCE(o.cost / NULLIF(j.month_customers, 0), 0.0) AS cac
FROM joined j
LEFT JOIN costs_by_month o ON o.client_id = j.client_id AND o.month = j.month
