-- roi_by_channel: closed-loop ROI — ad spend against the CRM outcomes each model credits.
-- grain:   client x month x channel x model.
-- inputs:  `ad_performance` (spend in the reporting currency), `attribution_by_channel`,
--          `costs` (CAC's costs besides media).
-- columns: client_id, month, channel, model, spend, leads, customers, conversions, revenue, roas,
--          roi, cpl, cpa, cac
-- notes:   spend meets credits on `ad_performance.channel` (the channel group of a platform's
--          clicks). leads and customers are the
--          credited `lead` and `new_customer` conversions (a person's first won deal: repeat deals
--          are revenue, not customers) of the month they happened; revenue is the
--          credited value of won deals and web purchases. roas = revenue / spend; roi = (revenue −
--          spend) / spend, on revenue (not gross profit); cpl = spend / leads; conversions = credited
--          leads and web purchases, cpa = spend / conversions; cac = the channel's
--          media spend / its credited new customers, plus the month's other marketing and sales
--          cost (`costs`) per new customer of the client that month (so each channel carries
--          the overhead its customers cause). A ratio with a zero or missing denominator is NULL.
--          Channels without spend (organic, email, ...) keep their credits with NULL spend.
WITH spend AS (
    SELECT client_id, CAST(date_trunc('month', date) AS DATE) AS month, channel, sum(spend) AS spend
    FROM ad_performance
    GROUP BY 1, 2, 3
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
    SELECT client_id, CAST(date_trunc('month', conversion_date) AS DATE) AS month, channel, model,
           sum(CASE WHEN conversion_type = 'lead' THEN conversions ELSE 0.0 END) AS leads,
           sum(CASE WHEN conversion_type = 'new_customer' THEN conversions ELSE 0.0 END) AS customers,
           sum(CASE WHEN conversion_type IN ('lead', 'purchase') THEN conversions ELSE 0.0 END) AS conversions,
           sum(CASE WHEN conversion_type IN ('won_deal', 'purchase') THEN value ELSE 0.0 END) AS revenue
    FROM attribution_by_channel
    GROUP BY 1, 2, 3, 4
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
    ON c.client_id = s.client_id AND c.month = s.month AND c.channel = s.channel AND c.model = s.model
LEFT JOIN costs_by_month o
    ON o.client_id = COALESCE(s.client_id, c.client_id) AND o.month = COALESCE(s.month, c.month)
