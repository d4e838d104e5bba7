-- contacts: people in the CRM and where they are in the funnel.
-- grain:   one row per client x CRM system x contact.
-- inputs:  every configured CRM connector's mapping onto `contacts` (hubspot.contacts,
--          salesforce.lead + salesforce.contact, postgres.contacts); `clients` (time zone).
-- sources: client_id, source_system, contact_id, email, created_at, lifecycle_stage, lead_at,
--          mql_at, sql_at, opportunity_at, customer_at, original_source, sql_on, customer_on
-- columns: client_id, source_system, contact_id, email, created_at, created_date, lifecycle_stage,
--          lead_at, mql_at, sql_at, opportunity_at, customer_at, original_source
-- notes:   timestamps are UTC; created_date is the day in the client's reporting time zone; email
--          is trimmed and lower-cased for matching; lifecycle_stage is one of subscriber, lead, mql,
--          sql, opportunity, customer, evangelist, other. A CRM that records a stage by date only
--          (Salesforce's ConvertedDate and an opportunity's CloseDate) gives sql_on / customer_on,
--          days already in the client's zone: the stage is reached at the last instant of that
--          day there (never at UTC midnight, which is the previous day west of UTC).
SELECT
    CAST(sources.client_id AS VARCHAR) AS client_id,
    CAST(sources.source_system AS VARCHAR) AS source_system,
    CAST(sources.contact_id AS VARCHAR) AS contact_id,
    CAST(lower(trim(sources.email)) AS VARCHAR) AS email,
    arrow_cast(sources.created_at, 'Timestamp(µs, "UTC")') AS created_at,
    local_date(sources.created_at, clients.time_zone) AS created_date,
    CAST(sources.lifecycle_stage AS VARCHAR) AS lifecycle_stage,
    arrow_cast(sources.lead_at, 'Timestamp(µs, "UTC")') AS lead_at,
    arrow_cast(sources.mql_at, 'Timestamp(µs, "UTC")') AS mql_at,
    COALESCE(
        arrow_cast(sources.sql_at, 'Timestamp(µs, "UTC")'),
        local_midnight(CAST(sources.sql_on AS DATE) + INTERVAL '1 day', clients.time_zone)
            - INTERVAL '1 microsecond'
    ) AS sql_at,
    arrow_cast(sources.opportunity_at, 'Timestamp(µs, "UTC")') AS opportunity_at,
    COALESCE(
        arrow_cast(sources.customer_at, 'Timestamp(µs, "UTC")'),
        local_midnight(CAST(sources.customer_on AS DATE) + INTERVAL '1 day', clients.time_zone)
            - INTERVAL '1 microsecond'
    ) AS customer_at,
    CAST(sources.original_source AS VARCHAR) AS original_source
FROM {sources}
JOIN clients ON clients.client_id = sources.client_id
