-- touchpoints: the marketing contacts of each person, the input of conversion paths.
-- grain:   one row per touch: a web session (at its start), a new campaign inside a session
--          (`campaign_changes`, at that event), or a CRM campaign membership the person
--          responded to (at the first response).
-- inputs:  `identified_sessions`, `campaign_changes`, `campaign_members`.
-- columns: client_id, person_key, touch_ts, touch_date, channel, source, medium, campaign,
--          touch_type, source_system, session_id
-- notes:   person_key is the session's person as `identified_sessions` stitches it: the person
--          a device belongs to once any of its sessions is identified (back in time), the CRM
--          contact when the user id is one, else the device's own id. A CRM touch's person_key is
--          the member's email, else
--          `<crm>:<contact_id>` (as in `conversions`); its source is the CRM, its medium the
--          campaign type, its channel the campaign type's group (see `campaign_members`).
--          touch_type is `session`, `campaign_change` or `crm_campaign`; session_id is NULL for
--          CRM touches.
--          Members who never responded are not touches (they were only sent something).
--          Each branch's touch_type is a CASE on its own column, not a bare literal: DataFusion 55
--          treats a per-branch literal as a constant of the whole UNION (see `conversions`).
SELECT
    client_id,
    person_key,
    session_start AS touch_ts,
    session_date AS touch_date,
    channel,
    source,
    medium,
    campaign,
    CASE WHEN session_id IS NOT NULL THEN 'session' END AS touch_type,
    source_system,
    session_id
FROM identified_sessions
UNION ALL
SELECT
    changes.client_id,
    sessions.person_key,
    changes.touch_ts,
    changes.touch_date,
    changes.channel,
    changes.source,
    changes.medium,
    changes.campaign,
    CASE WHEN changes.session_id IS NOT NULL THEN 'campaign_change' END AS touch_type,
    changes.source_system,
    changes.session_id
FROM campaign_changes AS changes
JOIN identified_sessions AS sessions
    ON sessions.client_id = changes.client_id AND sessions.source_system = changes.source_system
    AND sessions.session_id = changes.session_id
UNION ALL
SELECT
    client_id,
    COALESCE(email, source_system || ':' || contact_id) AS person_key,
    touch_ts,
    touch_date,
    channel,
    source_system AS source,
    COALESCE(lower(trim(campaign_type)), '(not set)') AS medium,
    COALESCE(lower(trim(campaign_name)), '(not set)') AS campaign,
    CASE WHEN responded THEN 'crm_campaign' END AS touch_type,
    source_system,
    CAST(NULL AS VARCHAR) AS session_id
FROM campaign_members
WHERE responded
