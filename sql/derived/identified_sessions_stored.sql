-- identified_sessions, as a sync stores it: the same rows as `identified_sessions.sql` (DOMAIN.md
--          §1; read that file for the rules), computed so that most sessions need no sort.
-- grain:   one row per client x analytics system x session.
-- inputs:  `sessions`, `contacts` (both stored tables when a sync runs this).
-- columns: as `identified_sessions.sql`.
-- notes:   Nearly every device is seen with one person at most: its sessions take that person
--          from a per-device aggregate (the smallest and the largest person seen on it). Only
--          the sessions of devices seen with several persons are sorted and windowed, exactly
--          as the view does. The view sorts and windows every session instead, because it reads
--          `sessions` once: this query reads it four times (DataFusion inlines `s` and `devices`
--          where they are used), cheap over the stored table a sync reads, but live (over the
--          connectors) each read would be the sources read again.
--          `tests/it/stitched.rs` checks both give the same rows, a device with two persons
--          included.

WITH s AS (
    SELECT client_id, source_system, session_id, user_id, session_start, session_end,
           session_date, channel, source, medium, campaign, conversions, revenue,
           NULLIF(lower(trim(person_id)), '') AS own
    FROM sessions
),
-- each identified device's persons: the smallest and the largest
devices AS (
    SELECT client_id, source_system, user_id, min(own) AS person, max(own) AS other
    FROM s
    WHERE own IS NOT NULL AND user_id IS NOT NULL
    GROUP BY client_id, source_system, user_id
)
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
    -- Devices seen with one person (or none; a session without a device id is nobody's but
    -- its own): every session is that person's.
    SELECT s.*, COALESCE(s.own, d.person) AS person
    FROM s
    LEFT JOIN devices AS d
        ON d.client_id = s.client_id AND d.source_system = s.source_system AND d.user_id = s.user_id
    WHERE d.person IS NULL OR d.person = d.other
    UNION ALL
    -- Devices seen with several: the latest person before the session, else the first after.
    SELECT
        s.*,
        COALESCE(
            s.own,
            last_value(s.own) IGNORE NULLS OVER (
                PARTITION BY s.client_id, s.source_system, s.user_id
                ORDER BY s.session_start, s.session_id
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
            -- the first person after it: the last before it in reverse order (a frame that
            -- ends at the current row streams; one reaching UNBOUNDED FOLLOWING makes
            -- DataFusion hold the whole input as one batch). NULLS LAST, not the reverse of the
            -- other window's order, or DataFusion turns this window back into that one reversed.
            last_value(s.own) IGNORE NULLS OVER (
                PARTITION BY s.client_id, s.source_system, s.user_id
                ORDER BY s.session_start DESC NULLS LAST, s.session_id DESC NULLS LAST
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ) AS person
    FROM s
    JOIN devices AS d
        ON d.client_id = s.client_id AND d.source_system = s.source_system AND d.user_id = s.user_id
    WHERE d.person <> d.other
) AS stitched
LEFT JOIN (
    SELECT client_id, contact_id, min(COALESCE(email, source_system || ':' || contact_id)) AS person_key
    FROM contacts
    WHERE contact_id IS NOT NULL
    GROUP BY client_id, contact_id
) AS crm
    ON crm.client_id = stitched.client_id AND lower(crm.contact_id) = stitched.person
