-- touchpoints: the marketing contacts of each person, the input of conversion paths.
-- grain:   one row per touch (today: one per web session, at its start).
-- inputs:  `sessions`.
-- columns: client_id, person_key, touch_ts, touch_date, channel, source, medium, campaign,
--          touch_type, source_system, session_id
-- notes:   person_key is the known person when the session has one — the analytics user id set
--          at login or form fill, which loopql expects to carry the CRM email (lower-cased) — else
--          the analytics (device) user id. Touches from ad clicks matched by click id and from CRM campaign
--          memberships join this view as their sources arrive.
SELECT
    client_id,
    COALESCE(lower(trim(person_id)), user_id) AS person_key,
    session_start AS touch_ts,
    session_date AS touch_date,
    channel,
    source,
    medium,
    campaign,
    'session' AS touch_type,
    source_system,
    session_id
FROM sessions
