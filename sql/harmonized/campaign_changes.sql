-- campaign_changes: a new touch inside a web session — an event that arrives with a UTM campaign
--          other than the session's previous one (an email link clicked in an open tab, a second
--          ad). The session's first campaign is the session's own touch (`sessions`).
-- grain:   one row per client x analytics system x session x campaign change.
-- inputs:  every configured analytics connector's mapping onto `campaign_changes` (ga4.events:
--          collected_traffic_source per event; snowplow.events: mkt_* per event); `clients` (time
--          zone); `source_categories`.
-- sources: client_id, source_system, session_id, touch_ts, source, medium, campaign, click_id
-- columns: client_id, source_system, session_id, touch_ts, touch_date, source, medium, campaign,
--          click_id, channel
-- notes:   a change is an event after the session's first campaign-bearing event whose campaign
--          (trimmed, lower-cased) differs from the previous campaign-bearing event's. source,
--          medium and campaign are normalized and grouped as in `sessions`.
SELECT
    CAST(normalized.client_id AS VARCHAR) AS client_id,
    CAST(normalized.source_system AS VARCHAR) AS source_system,
    CAST(normalized.session_id AS VARCHAR) AS session_id,
    arrow_cast(normalized.touch_ts, 'Timestamp(µs, "UTC")') AS touch_ts,
    local_date(normalized.touch_ts, clients.time_zone) AS touch_date,
    CAST(normalized.n_source AS VARCHAR) AS source,
    CAST(normalized.n_medium AS VARCHAR) AS medium,
    CAST(normalized.n_campaign AS VARCHAR) AS campaign,
    CAST(normalized.click_id AS VARCHAR) AS click_id,
    channel_group(normalized.n_source, normalized.n_medium, normalized.n_campaign,
                  COALESCE(client_category.category, shipped_category.category)) AS channel
FROM (
    SELECT
        sources.*,
        CASE
            WHEN nullif(trim(sources.source), '') IS NOT NULL THEN lower(trim(sources.source))
            WHEN sources.click_id IS NOT NULL THEN 'google'
            ELSE '(direct)'
        END AS n_source,
        CASE
            WHEN nullif(trim(sources.source), '') IS NOT NULL THEN COALESCE(lower(trim(sources.medium)), '(not set)')
            WHEN sources.click_id IS NOT NULL THEN 'cpc'
            ELSE '(none)'
        END AS n_medium,
        COALESCE(lower(trim(sources.campaign)), '(not set)') AS n_campaign
    FROM {sources}
) AS normalized
JOIN clients ON clients.client_id = normalized.client_id
LEFT JOIN source_categories AS client_category
    ON client_category.client_id = normalized.client_id AND client_category.source = normalized.n_source
LEFT JOIN source_categories AS shipped_category
    ON shipped_category.client_id = '*' AND shipped_category.source = normalized.n_source
