-- sessions: web analytics sessions with their acquisition source and channel.
-- grain:   one row per client x analytics system x session.
-- inputs:  every configured analytics connector's mapping onto `sessions` (ga4.events: session =
--          user_pseudo_id + ga_session_id; snowplow.events: domain_sessionid); `clients` (time
--          zone, currency); `source_categories` (channel grouping lists, client rows before
--          shipped ones); `fx_rates`.
-- sources: client_id, source_system, session_id, user_id, person_id, session_start, session_end,
--          source, medium, campaign, term, content, click_id, landing_page, page_views, engaged,
--          conversions, revenue, currency
-- columns: client_id, source_system, session_id, user_id, person_id, session_start, session_end,
--          session_date, source, medium, campaign, term, content, click_id, click_id_type, channel,
--          landing_page, page_views, engaged, conversions, revenue, duration_seconds,
--          revenue_original, currency_original, fx_rate
-- notes:   UTMs the analytics tool did not collect are read from the landing page's query string
--          (url_param), and so are click ids: gclid, gbraid, wbraid, dclid, msclkid, fbclid, ttclid,
--          li_fat_id (click_id_type names which; a collected click id is a gclid unless the landing
--          page shows it under another name). source / medium / campaign / term / content are
--          trimmed and lower-cased (UTMs match case-insensitively). Without a UTM source, the
--          click id decides, as auto-tagging means: gclid / gbraid / wbraid -> google / cpc,
--          dclid -> dv360 / cpm, msclkid -> bing / cpc; fbclid, ttclid and li_fat_id are added to
--          organic links too, so they say facebook / tiktok / linkedin with medium referral. With
--          neither: (direct) / (none). channel follows GA4's default channel group rules
--          (channel_group). engaged: the analytics tool says so, or 2+ page views, or a conversion.
--          person_id is the known user (login / CRM id) when the analytics tool has one.
--          conversions are the session's purchases, each counted once (a transaction id seen
--          again is the same purchase, see the connectors); revenue is their value in the
--          client's reporting currency at the rate of the session's day (revenue_original in
--          currency_original as the analytics tool recorded it; no currency recorded: the
--          reporting currency); NULL when no rate is known for that day.
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
    CAST(lower(normalized.u_term) AS VARCHAR) AS term,
    CAST(lower(normalized.u_content) AS VARCHAR) AS content,
    CAST(normalized.n_click_id AS VARCHAR) AS click_id,
    CAST(normalized.click_id_type AS VARCHAR) AS click_id_type,
    channel_group(normalized.n_source, normalized.n_medium, normalized.n_campaign,
                  COALESCE(client_category.category, shipped_category.category)) AS channel,
    CAST(normalized.landing_page AS VARCHAR) AS landing_page,
    CAST(normalized.page_views AS BIGINT) AS page_views,
    COALESCE(CAST(normalized.engaged AS BOOLEAN), false)
        OR normalized.page_views >= 2 OR normalized.conversions > 0 AS engaged,
    CAST(normalized.conversions AS BIGINT) AS conversions,
    CAST(normalized.revenue AS DOUBLE) * CASE
        WHEN COALESCE(upper(normalized.currency), clients.currency) = clients.currency THEN 1.0
        ELSE fx_reporting.per_eur / fx_original.per_eur
    END AS revenue,
    CAST(arrow_cast(normalized.session_end, 'Timestamp(µs, "UTC")') - arrow_cast(normalized.session_start, 'Timestamp(µs, "UTC")') AS BIGINT) / 1000000.0 AS duration_seconds,
    CAST(normalized.revenue AS DOUBLE) AS revenue_original,
    CAST(COALESCE(upper(normalized.currency), clients.currency) AS VARCHAR) AS currency_original,
    CAST(CASE
        WHEN COALESCE(upper(normalized.currency), clients.currency) = clients.currency THEN 1.0
        ELSE fx_reporting.per_eur / fx_original.per_eur
    END AS DOUBLE) AS fx_rate
FROM (
    SELECT
        tagged.*,
        CASE
            WHEN tagged.u_source IS NOT NULL THEN lower(tagged.u_source)
            WHEN tagged.click_id_type IN ('gclid', 'gbraid', 'wbraid') THEN 'google'
            WHEN tagged.click_id_type = 'dclid' THEN 'dv360'
            WHEN tagged.click_id_type = 'msclkid' THEN 'bing'
            WHEN tagged.click_id_type = 'fbclid' THEN 'facebook'
            WHEN tagged.click_id_type = 'ttclid' THEN 'tiktok'
            WHEN tagged.click_id_type = 'li_fat_id' THEN 'linkedin'
            ELSE '(direct)'
        END AS n_source,
        CASE
            WHEN tagged.u_source IS NOT NULL THEN COALESCE(lower(tagged.u_medium), '(not set)')
            WHEN tagged.click_id_type IN ('gclid', 'gbraid', 'wbraid', 'msclkid') THEN 'cpc'
            WHEN tagged.click_id_type = 'dclid' THEN 'cpm'
            WHEN tagged.click_id_type IS NOT NULL THEN 'referral'
            ELSE '(none)'
        END AS n_medium,
        COALESCE(lower(tagged.u_campaign), '(not set)') AS n_campaign
    FROM (
        SELECT
            params.*,
            COALESCE(params.click_id, params.p_gclid, params.p_gbraid, params.p_wbraid, params.p_dclid,
                     params.p_msclkid, params.p_fbclid, params.p_ttclid, params.p_li_fat_id) AS n_click_id,
            CASE
                WHEN params.click_id IS NOT NULL THEN
                    CASE params.click_id
                        WHEN params.p_gbraid THEN 'gbraid'
                        WHEN params.p_wbraid THEN 'wbraid'
                        WHEN params.p_dclid THEN 'dclid'
                        WHEN params.p_msclkid THEN 'msclkid'
                        WHEN params.p_fbclid THEN 'fbclid'
                        WHEN params.p_ttclid THEN 'ttclid'
                        WHEN params.p_li_fat_id THEN 'li_fat_id'
                        ELSE 'gclid'
                    END
                WHEN params.p_gclid IS NOT NULL THEN 'gclid'
                WHEN params.p_gbraid IS NOT NULL THEN 'gbraid'
                WHEN params.p_wbraid IS NOT NULL THEN 'wbraid'
                WHEN params.p_dclid IS NOT NULL THEN 'dclid'
                WHEN params.p_msclkid IS NOT NULL THEN 'msclkid'
                WHEN params.p_fbclid IS NOT NULL THEN 'fbclid'
                WHEN params.p_ttclid IS NOT NULL THEN 'ttclid'
                WHEN params.p_li_fat_id IS NOT NULL THEN 'li_fat_id'
            END AS click_id_type
        FROM (
            SELECT
                sources.*,
                nullif(trim(COALESCE(nullif(trim(sources.source), ''), url_param(sources.landing_page, 'utm_source'))), '') AS u_source,
                nullif(trim(COALESCE(nullif(trim(sources.medium), ''), url_param(sources.landing_page, 'utm_medium'))), '') AS u_medium,
                nullif(trim(COALESCE(nullif(trim(sources.campaign), ''), url_param(sources.landing_page, 'utm_campaign'))), '') AS u_campaign,
                nullif(trim(COALESCE(nullif(trim(sources.term), ''), url_param(sources.landing_page, 'utm_term'))), '') AS u_term,
                nullif(trim(COALESCE(nullif(trim(sources.content), ''), url_param(sources.landing_page, 'utm_content'))), '') AS u_content,
                nullif(url_param(sources.landing_page, 'gclid'), '') AS p_gclid,
                nullif(url_param(sources.landing_page, 'gbraid'), '') AS p_gbraid,
                nullif(url_param(sources.landing_page, 'wbraid'), '') AS p_wbraid,
                nullif(url_param(sources.landing_page, 'dclid'), '') AS p_dclid,
                nullif(url_param(sources.landing_page, 'msclkid'), '') AS p_msclkid,
                nullif(url_param(sources.landing_page, 'fbclid'), '') AS p_fbclid,
                nullif(url_param(sources.landing_page, 'ttclid'), '') AS p_ttclid,
                nullif(url_param(sources.landing_page, 'li_fat_id'), '') AS p_li_fat_id
            FROM {sources}
        ) AS params
    ) AS tagged
) AS normalized
JOIN clients ON clients.client_id = normalized.client_id
LEFT JOIN source_categories AS client_category
    ON client_category.client_id = normalized.client_id AND client_category.source = normalized.n_source
LEFT JOIN source_categories AS shipped_category
    ON shipped_category.client_id = '*' AND shipped_category.source = normalized.n_source
LEFT JOIN fx_rates AS fx_original
    ON fx_original.date = local_date(normalized.session_start, clients.time_zone)
    AND fx_original.currency = upper(normalized.currency)
LEFT JOIN fx_rates AS fx_reporting
    ON fx_reporting.date = local_date(normalized.session_start, clients.time_zone)
    AND fx_reporting.currency = clients.currency
