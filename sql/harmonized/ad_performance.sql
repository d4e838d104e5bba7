-- ad_performance: paid-media delivery and the results each ad platform reports for itself.
-- grain:   one row per client x platform x account x campaign x day (the ad account's day).
-- inputs:  every configured connector's mapping onto `ad_performance` (e.g. google_ads.campaign_stats);
--          `clients` (reporting currency); `fx_rates` (daily rates).
-- sources: date, client_id, platform, account_id, campaign_id, campaign_name, impressions, clicks,
--          spend, currency, conversions, conversion_value, channel_type
-- columns: date, client_id, platform, account_id, campaign_id, campaign_name, impressions, clicks,
--          spend, conversions, conversion_value, currency, spend_original, conversion_value_original,
--          currency_original, fx_rate, channel
-- notes:   spend and conversion_value are in the client's reporting currency (`currency`), converted
--          at the activity day's rate (fx_rate = reporting units per original unit); the platform's
--          own amounts and currency stay in the *_original columns. Without a rate for that day the
--          converted amounts are NULL, never silently unconverted. conversions are the platform's own
--          count (fractional under platform data-driven attribution). channel is the channel group
--          of what the platform buys (DOMAIN.md §5), so spend meets sessions and credits: Google
--          Ads by the campaign's advertising_channel_type (SEARCH -> Paid Search, SHOPPING -> Paid
--          Shopping, VIDEO -> Paid Video, DISPLAY -> Display, PERFORMANCE_MAX / DEMAND_GEN /
--          DISCOVERY -> Cross-network, any other -> Paid Other; an export without the column:
--          Paid Search); Microsoft Ads: Paid Search (Audience campaigns: Display); meta_ads,
--          linkedin_ads: Paid Social; any other platform: Paid Other (mappings give the
--          platform's campaign type as the source column channel_type when it reports one).
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
    CAST(CASE
        WHEN converted.platform = 'google_ads' THEN CASE upper(trim(converted.channel_type))
            WHEN 'SEARCH' THEN 'Paid Search'
            WHEN 'SHOPPING' THEN 'Paid Shopping'
            WHEN 'VIDEO' THEN 'Paid Video'
            WHEN 'DISPLAY' THEN 'Display'
            WHEN 'PERFORMANCE_MAX' THEN 'Cross-network'
            WHEN 'DEMAND_GEN' THEN 'Cross-network'
            WHEN 'DISCOVERY' THEN 'Cross-network'
            ELSE CASE WHEN nullif(trim(converted.channel_type), '') IS NULL THEN 'Paid Search' ELSE 'Paid Other' END
        END
        WHEN converted.platform = 'microsoft_ads' THEN
            CASE WHEN upper(trim(converted.channel_type)) = 'AUDIENCE' THEN 'Display' ELSE 'Paid Search' END
        WHEN converted.platform IN ('meta_ads', 'linkedin_ads') THEN 'Paid Social'
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
