-- ad_performance: paid-media delivery and the results each ad platform reports for itself.
-- grain:   one row per client x platform x account x campaign x day (the ad account's day).
-- inputs:  every configured connector's mapping onto `ad_performance` (e.g. google_ads.campaign_stats).
-- columns: date, client_id, platform, account_id, campaign_id, campaign_name, impressions, clicks,
--          spend, currency, conversions, conversion_value
-- notes:   spend and conversion_value are in the account's currency (`currency`); conversions are
--          the platform's own count (fractional for data-driven platform attribution).
SELECT
    CAST(date AS DATE) AS date,
    CAST(client_id AS VARCHAR) AS client_id,
    CAST(platform AS VARCHAR) AS platform,
    CAST(account_id AS VARCHAR) AS account_id,
    CAST(campaign_id AS VARCHAR) AS campaign_id,
    CAST(campaign_name AS VARCHAR) AS campaign_name,
    CAST(impressions AS BIGINT) AS impressions,
    CAST(clicks AS BIGINT) AS clicks,
    CAST(spend AS DOUBLE) AS spend,
    CAST(currency AS VARCHAR) AS currency,
    CAST(conversions AS DOUBLE) AS conversions,
    CAST(conversion_value AS DOUBLE) AS conversion_value
FROM {sources}
