-- sessions: web analytics sessions with their acquisition source and channel.
-- grain:   one row per client x analytics system x session.
-- inputs:  every configured analytics connector's mapping onto `sessions` (ga4.events: session =
--          user_pseudo_id + ga_session_id; snowplow.events: domain_sessionid); `clients` (time
--          zone); `source_categories` (channel grouping lists, client rows before shipped ones).
-- sources: client_id, source_system, session_id, user_id, person_id, session_start, session_end,
--          source, medium, campaign, term, content, click_id, landing_page, page_views, engaged,
--          conversions, revenue
-- columns: client_id, source_system, session_id, user_id, person_id, session_start, session_end,
--          session_date, source, medium, campaign, term, content, click_id, channel, landing_page,
--          page_views, engaged, conversions, revenue, duration_seconds
-- notes:   source / medium / campaign are trimmed and lower-cased (UTMs match case-insensitively);
--          a session with a Google click id but no UTM source is google / cpc (auto-tagging); one
--          with neither is (direct) / (none). channel follows GA4's default channel group rules
--          (channel_group). engaged: the analytics tool says so, or 2+ page views, or a conversion.
--          person_id is the known user (login / CRM id) when the analytics tool has one.
SELECT
    CAST(normalized.client_id AS VARCHAR) AS client_id,
    CAST(normalized.source_system AS VARCHAR) AS source_system,
    CAST(normalized.session_id AS VARCHAR) AS session_id,
    CAST(normalized.user_id AS VARCHAR) AS user_id,
    CAST(normalized.person_id AS VARCHAR) AS person_id,
    arrow_cast(normalized.session_start, 'Timestamp(µs, "UTC")') AS session_start,
    arrow_cast(normalized.session_end, 'Timestamp(µs, "UTC")') AS session_end,
    local_date(normalized.session_start, clients.time_zone) AS session_date,
    CAST(normalized.n_source AS VARCHAR) AS source,
    CAST(normalized.n_medium AS VARCHAR) AS medium,
    CAST(normalized.n_campaign AS VARCHAR) AS campaign,
    CAST(lower(trim(normalized.term)) AS VARCHAR) AS term,
    CAST(lower(trim(normalized.content)) AS VARCHAR) AS content,
    CAST(normalized.click_id AS VARCHAR) AS click_id,
    channel_group(normalized.n_source, normalized.n_medium, normalized.n_campaign,
                  COALESCE(client_category.category, shipped_category.category)) AS channel,
    CAST(normalized.landing_page AS VARCHAR) AS landing_page,
    CAST(normalized.page_views AS BIGINT) AS page_views,
    COALESCE(CAST(normalized.engaged AS BOOLEAN), false)
        OR normalized.page_views >= 2 OR normalized.conversions > 0 AS engaged,
    CAST(normalized.conversions AS BIGINT) AS conversions,
    CAST(normalized.revenue AS DOUBLE) AS revenue,
    CAST(arrow_cast(normalized.session_end, 'Timestamp(µs, "UTC")') - arrow_cast(normalized.session_start, 'Timestamp(µs, "UTC")') AS BIGINT) / 1000000.0 AS duration_seconds
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
