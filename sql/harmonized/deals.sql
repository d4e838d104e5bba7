-- deals: CRM deals (opportunities) and the revenue they closed.
-- grain:   one row per client x CRM system x deal.
-- inputs:  every configured CRM connector's mapping onto `deals` (hubspot.deals + deal_contacts,
--          salesforce.opportunity + opportunity_contact_role, postgres.deals + deal_contacts);
--          `clients` (currency, time zone); `fx_rates`.
-- sources: client_id, source_system, deal_id, contact_id, name, amount, currency, stage, created_at,
--          closed_at, closed_on, is_closed, is_won
-- columns: client_id, source_system, deal_id, contact_id, name, stage, created_at, created_date,
--          closed_at, closed_date, is_closed, is_won, amount, currency, amount_original,
--          currency_original, fx_rate
-- notes:   amount is in the client's reporting currency at the rate of the close day (of the
--          creation day while open); NULL when no rate is known; a deal without a currency is taken
--          to be in the reporting currency. contact_id is the primary (else first) contact.
--          A CRM whose close date is a date only (Salesforce CloseDate) gives closed_on, a day
--          already in the client's zone: closed_date is that day, never moved through UTC, and
--          closed_at the last instant of it in the client's zone (so a deal closed on a day
--          credits that day's touches, and takes that day's FX rate).
SELECT
    CAST(converted.client_id AS VARCHAR) AS client_id,
    CAST(converted.source_system AS VARCHAR) AS source_system,
    CAST(converted.deal_id AS VARCHAR) AS deal_id,
    CAST(converted.contact_id AS VARCHAR) AS contact_id,
    CAST(converted.name AS VARCHAR) AS name,
    CAST(converted.stage AS VARCHAR) AS stage,
    converted.created_at_utc AS created_at,
    converted.created_date AS created_date,
    converted.closed_at_utc AS closed_at,
    converted.closed_date AS closed_date,
    CAST(converted.is_closed AS BOOLEAN) AS is_closed,
    CAST(converted.is_won AS BOOLEAN) AS is_won,
    CAST(converted.amount AS DOUBLE) * converted.fx_rate AS amount,
    CAST(converted.reporting_currency AS VARCHAR) AS currency,
    CAST(converted.amount AS DOUBLE) AS amount_original,
    CAST(converted.original_currency AS VARCHAR) AS currency_original,
    CAST(converted.fx_rate AS DOUBLE) AS fx_rate
FROM (
    SELECT
        dated.*,
        CASE
            WHEN dated.original_currency = dated.reporting_currency THEN 1.0
            ELSE fx_reporting.per_eur / fx_original.per_eur
        END AS fx_rate
    FROM (
        SELECT
            sources.*,
            arrow_cast(sources.created_at, 'Timestamp(µs, "UTC")') AS created_at_utc,
            local_date(sources.created_at, clients.time_zone) AS created_date,
            COALESCE(
                arrow_cast(sources.closed_at, 'Timestamp(µs, "UTC")'),
                local_midnight(CAST(sources.closed_on AS DATE) + INTERVAL '1 day', clients.time_zone)
                    - INTERVAL '1 microsecond'
            ) AS closed_at_utc,
            COALESCE(CAST(sources.closed_on AS DATE), local_date(sources.closed_at, clients.time_zone)) AS closed_date,
            COALESCE(upper(sources.currency), clients.currency) AS original_currency,
            clients.currency AS reporting_currency
        FROM {sources}
        JOIN clients ON clients.client_id = sources.client_id
    ) AS dated
    LEFT JOIN fx_rates AS fx_original
        ON fx_original.date = COALESCE(dated.closed_date, dated.created_date)
        AND fx_original.currency = dated.original_currency
    LEFT JOIN fx_rates AS fx_reporting
        ON fx_reporting.date = COALESCE(dated.closed_date, dated.created_date)
        AND fx_reporting.currency = dated.reporting_currency
) AS converted
