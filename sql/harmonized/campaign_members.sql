-- campaign_members: people's memberships of CRM campaigns (webinars, events, email programs,
--          direct mail, ...), the offline and CRM-run touches that web analytics never sees.
-- grain:   one row per client x CRM system x campaign x member.
-- inputs:  every configured CRM connector's mapping onto `campaign_members`
--          (salesforce.campaign_member + campaign + lead/contact); `clients` (time zone).
-- sources: client_id, source_system, campaign_id, campaign_name, campaign_type, contact_id, email,
--          member_created_at, responded, first_responded_date, status
-- columns: client_id, source_system, campaign_id, campaign_name, campaign_type, channel,
--          contact_id, email, member_created_at, responded, first_responded_date, touch_ts,
--          touch_date, status
-- notes:   contact_id matches `contacts.contact_id` of the same CRM; email is trimmed and
--          lower-cased. touch_ts is when the membership became a touch: the first response for
--          members who responded — a date only, already a day in the client's zone, so the
--          touch is the start of that day there (it counts for conversions later that day) —,
--          else when they were added.
--          channel groups the CRM's campaign type: Email -> Email; Advertisement, Banner Ads ->
--          Display; Conference, Seminar / Conference, Trade Show, Webinar -> Events; Direct Mail ->
--          Direct Mail; Partners, Referral Program -> Referral; Public Relations -> PR;
--          Telemarketing -> Outbound; anything else -> Other Campaigns.
SELECT
    CAST(sources.client_id AS VARCHAR) AS client_id,
    CAST(sources.source_system AS VARCHAR) AS source_system,
    CAST(sources.campaign_id AS VARCHAR) AS campaign_id,
    CAST(sources.campaign_name AS VARCHAR) AS campaign_name,
    CAST(sources.campaign_type AS VARCHAR) AS campaign_type,
    CASE lower(trim(sources.campaign_type))
        WHEN 'email' THEN 'Email'
        WHEN 'advertisement' THEN 'Display'
        WHEN 'banner ads' THEN 'Display'
        WHEN 'conference' THEN 'Events'
        WHEN 'seminar / conference' THEN 'Events'
        WHEN 'trade show' THEN 'Events'
        WHEN 'webinar' THEN 'Events'
        WHEN 'direct mail' THEN 'Direct Mail'
        WHEN 'partners' THEN 'Referral'
        WHEN 'referral program' THEN 'Referral'
        WHEN 'public relations' THEN 'PR'
        WHEN 'telemarketing' THEN 'Outbound'
        ELSE 'Other Campaigns'
    END AS channel,
    CAST(sources.contact_id AS VARCHAR) AS contact_id,
    CAST(lower(trim(sources.email)) AS VARCHAR) AS email,
    arrow_cast(sources.member_created_at, 'Timestamp(µs, "UTC")') AS member_created_at,
    COALESCE(CAST(sources.responded AS BOOLEAN), false) AS responded,
    CAST(sources.first_responded_date AS DATE) AS first_responded_date,
    CASE
        WHEN COALESCE(CAST(sources.responded AS BOOLEAN), false) AND sources.first_responded_date IS NOT NULL
            THEN local_midnight(CAST(sources.first_responded_date AS DATE), clients.time_zone)
        ELSE arrow_cast(sources.member_created_at, 'Timestamp(µs, "UTC")')
    END AS touch_ts,
    local_date(
        CASE
            WHEN COALESCE(CAST(sources.responded AS BOOLEAN), false) AND sources.first_responded_date IS NOT NULL
                THEN local_midnight(CAST(sources.first_responded_date AS DATE), clients.time_zone)
            ELSE arrow_cast(sources.member_created_at, 'Timestamp(µs, "UTC")')
        END,
        clients.time_zone
    ) AS touch_date,
    CAST(sources.status AS VARCHAR) AS status
FROM {sources}
JOIN clients ON clients.client_id = sources.client_id
