-- conversions: every conversion event of every person, the outcomes attribution credits.
-- grain:   one row per conversion: a CRM stage reached (lead, mql, sql, opportunity), a won deal,
--          a new customer (a person's first won deal), or a web purchase.
-- inputs:  `contacts`, `deals`, `identified_sessions`, `clients` (time zone).
-- columns: client_id, person_key, conversion_ts, conversion_date, type, value, currency,
--          source_system, reference_id
-- notes:   person_key matches `touchpoints.person_key`: the CRM email (lower-cased), else
--          `<crm>:<contact_id>`; for web purchases the session's stitched person
--          (`identified_sessions`).
--          value is in the client's reporting currency (won deals: the deal amount; purchases:
--          the session's purchase revenue, converted in `sessions`; stages and new customers: 0 —
--          a new customer's revenue is its won deal's). new_customer: the first won deal of a
--          person (by close time; repeat deals are revenue, not customers), what CAC divides by.
--          Each branch's type is written as a CASE on its own filter column rather than a bare
--          literal: DataFusion 55 treats a per-branch literal as a constant of the whole UNION and
--          then mis-plans ORDER BY type (SanityCheckPlan error).
SELECT
    events.client_id,
    events.person_key,
    events.conversion_ts,
    local_date(events.conversion_ts, clients.time_zone) AS conversion_date,
    events.type,
    CAST(events.value AS DOUBLE) AS value,
    clients.currency,
    events.source_system,
    events.reference_id
FROM (
    SELECT client_id, COALESCE(email, source_system || ':' || contact_id) AS person_key,
           lead_at AS conversion_ts, CASE WHEN lead_at IS NOT NULL THEN 'lead' END AS type, 0.0 AS value, source_system, contact_id AS reference_id
    FROM contacts WHERE lead_at IS NOT NULL
    UNION ALL
    SELECT client_id, COALESCE(email, source_system || ':' || contact_id), mql_at, CASE WHEN mql_at IS NOT NULL THEN 'mql' END, 0.0, source_system, contact_id
    FROM contacts WHERE mql_at IS NOT NULL
    UNION ALL
    SELECT client_id, COALESCE(email, source_system || ':' || contact_id), sql_at, CASE WHEN sql_at IS NOT NULL THEN 'sql' END, 0.0, source_system, contact_id
    FROM contacts WHERE sql_at IS NOT NULL
    UNION ALL
    SELECT client_id, COALESCE(email, source_system || ':' || contact_id), opportunity_at, CASE WHEN opportunity_at IS NOT NULL THEN 'opportunity' END, 0.0, source_system, contact_id
    FROM contacts WHERE opportunity_at IS NOT NULL
    UNION ALL
    SELECT deals.client_id,
           COALESCE(contacts.email, deals.source_system || ':' || deals.contact_id),
           deals.closed_at, CASE WHEN deals.is_won THEN 'won_deal' END, deals.amount, deals.source_system, deals.deal_id
    FROM deals
    LEFT JOIN contacts
        ON contacts.client_id = deals.client_id
        AND contacts.source_system = deals.source_system
        AND contacts.contact_id = deals.contact_id
    WHERE deals.is_won AND deals.closed_at IS NOT NULL
    UNION ALL
    SELECT client_id, person_key, closed_at, CASE WHEN nth = 1 THEN 'new_customer' END, 0.0, source_system, deal_id
    FROM (
        SELECT deals.client_id,
               COALESCE(contacts.email, deals.source_system || ':' || deals.contact_id) AS person_key,
               deals.closed_at, deals.source_system, deals.deal_id,
               row_number() OVER (
                   PARTITION BY deals.client_id,
                       COALESCE(contacts.email, deals.source_system || ':' || deals.contact_id, 'deal:' || deals.deal_id)
                   ORDER BY deals.closed_at, deals.source_system, deals.deal_id) AS nth
        FROM deals
        LEFT JOIN contacts
            ON contacts.client_id = deals.client_id
            AND contacts.source_system = deals.source_system
            AND contacts.contact_id = deals.contact_id
        WHERE deals.is_won AND deals.closed_at IS NOT NULL
    ) AS won
    WHERE nth = 1
    UNION ALL
    SELECT client_id, person_key, session_end, CASE WHEN conversions > 0 THEN 'purchase' END, revenue, source_system, session_id
    FROM identified_sessions WHERE conversions > 0
) AS events
JOIN clients ON clients.client_id = events.client_id
