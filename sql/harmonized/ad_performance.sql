-- ad_performance: paid-media delivery and the results each ad platform reports for itself.
-- grain:   one row per client x platform x account x campaign x day (the ad account's day).
-- inputs:  every configured connector's mapping onto `ad_performance` (e.g. google_ads.campaign_stats);
--          `clients` (reporting currency); `fx_rates` (daily rates).
-- sources: date, client_id, platform, account_id, campaign_id, campaign_name, impressions, clicks,
--          spend, currency, conversions, conversion_value
-- columns: date, client_id, platform, account_id, campaign_id, campaign_name, impressions, clicks,
--          spend, conversions, conversion_value, currency, spend_original, conversion_value_original,
--          currency_original, fx_rate, channel
-- notes:   spend and conversion_value are in the client's reporting currency (`currency`), converted
--          at the activity day's rate (fx_rate = reporting units per original unit); the platform's
--          own amounts and currency stay in the *_original columns. Without a rate for that day the
--          converted amounts are NULL, never silently unconverted. conversions are the platform's own
--          count (fractional under platform data-driven attribution). channel is the channel group
--          the platform's clicks arrive as (google_ads, microsoft_ads: Paid Search; meta_ads,
--          linkedin_ads: Paid Social; any other: Paid Other), so spend meets sessions and credits.
SELECT
    CAST(converted.date AS DATE) AS date,
    CAST(converted.client_id AS VARCHAR) AS client_id,
    CAST(converted.platform AS VARCHAR) AS platform,
    CAST(converted.account_id AS VARCHAR) AS account_id,
    CAST(converted.campaign_id AS VARCHAR) AS campaign_id,
    CAST(converted.campaign_name AS VARCHAR) AS campaign_name,
    CAST(converted.impressions AS BIGINT) AS impressions,
    CAST(converted.clicks AS BIGINT) AS clicks,
    CAST(converted.spend AS DOUBLE) * converted.fx_rate AS spend,
    CAST(converted.conversions AS DOUBLE) AS conversions,
    CAST(converted.conversion_value AS DOUBLE) * converted.fx_rate AS conversion_value,
    CAST(converted.reporting_currency AS VARCHAR) AS currency,
    CAST(converted.spend AS DOUBLE) AS spend_original,
    CAST(converted.conversion_value AS DOUBLE) AS conversion_value_original,
    CAST(converted.original_currency AS VARCHAR) AS currency_original,
    CAST(converted.fx_rate AS DOUBLE) AS fx_rate,
    CAST(CASE converted.platform
        WHEN 'google_ads' THEN 'Paid Search'
        WHEN 'microsoft_ads' THEN 'Paid Search'
        WHEN 'meta_ads' THEN 'Paid Social'
        WHEN 'linkedin_ads' THEN 'Paid Social'
        ELSE 'Paid Other'
    END AS VARCHAR) AS channel
FROM (
    SELECT
        sources.*,
        upper(sources.currency) AS original_currency,
        clients.currency AS reporting_currency,
        CASE
            WHEN upper(sources.currency) = clients.currency THEN 1.0
            ELSE fx_reporting.per_eur / fx_original.per_eur
        END AS fx_rate
    FROM {sources}
    JOIN clients ON clients.client_id = sources.client_id
    LEFT JOIN fx_rates AS fx_original
        ON fx_original.date = sources.date AND fx_original.currency = upper(sources.currency)
    LEFT JOIN fx_rates AS fx_reporting
        ON fx_reporting.date = sources.date AND fx_reporting.currency = clients.currency
) AS converted
