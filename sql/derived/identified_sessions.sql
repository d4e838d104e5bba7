-- identified_sessions: every analytics session with the person it belongs to, stitched across
--          the device's sessions (DOMAIN.md §1, deterministic only).
-- grain:   one row per client x analytics system x session.
-- inputs:  `sessions`, `contacts`.
-- columns: client_id, source_system, session_id, person_key, device_id, session_start,
--          session_end, session_date, channel, source, medium, campaign, conversions, revenue
-- notes:   A device (the analytics user id: GA4 user_pseudo_id, Snowplow domain_userid) is a
--          person's once any of its sessions carries a user id (login, form fill): every session
--          of that device gets that person, the anonymous ones before the first login included.
--          A device seen with several user ids keeps the latest for the sessions after each login
--          and the first for the sessions before it. Devices sharing a user id are one person.
--          A user id that is a CRM contact's id becomes that contact's key (its email, else
--          `<crm>:<contact_id>`, as in `conversions`); otherwise the user id (lower-cased, an
--          email when the site sets it at form fill) is the key. A device never identified keeps
--          its own id. Computed when queried, never stored, so a login today re-keys last month.
SELECT
    stitched.client_id,
    stitched.source_system,
    stitched.session_id,
    COALESCE(crm.person_key, stitched.person, stitched.user_id) AS person_key,
    stitched.user_id AS device_id,
    stitched.session_start,
    stitched.session_end,
    stitched.session_date,
    stitched.channel,
    stitched.source,
    stitched.medium,
    stitched.campaign,
    stitched.conversions,
    stitched.revenue
FROM (
    SELECT
        s.*,
        COALESCE(
            s.own,
            -- (a session without a device id is nobody's but its own)
            CASE WHEN s.user_id IS NOT NULL THEN last_value(s.own) IGNORE NULLS OVER (
                PARTITION BY s.client_id, s.source_system, s.user_id
                ORDER BY s.session_start, s.session_id
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) END,
            -- the first person after it: the last before it in reverse order (a frame that
            -- ends at the current row streams; one reaching UNBOUNDED FOLLOWING makes
            -- DataFusion hold the whole input as one batch). NULLS LAST, not the reverse of the
            -- other window's order, or DataFusion turns this window back into that one reversed.
            CASE WHEN s.user_id IS NOT NULL THEN last_value(s.own) IGNORE NULLS OVER (
                PARTITION BY s.client_id, s.source_system, s.user_id
                ORDER BY s.session_start DESC NULLS LAST, s.session_id DESC NULLS LAST
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) END
        ) AS person
    FROM (
        SELECT client_id, source_system, session_id, user_id, session_start, session_end,
               session_date, channel, source, medium, campaign, conversions, revenue,
               NULLIF(lower(trim(person_id)), '') AS own
        FROM sessions
    ) AS s
) AS stitched
LEFT JOIN (
    SELECT client_id, contact_id, min(COALESCE(email, source_system || ':' || contact_id)) AS person_key
    FROM contacts
    WHERE contact_id IS NOT NULL
    GROUP BY client_id, contact_id
) AS crm
    ON crm.client_id = stitched.client_id AND lower(crm.contact_id) = stitched.person
