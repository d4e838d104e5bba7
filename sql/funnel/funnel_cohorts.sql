-- funnel_cohorts: funnel stage counts, stage rates and days between stages, by entry cohort.
-- grain:   client x CRM system x cohort month (the month, in the client's time zone, a contact
--          became a lead).
-- inputs:  `contacts`, `clients` (time zone).
-- columns: client_id, source_system, cohort_month, leads, mqls, sqls, opportunities, customers,
--          lead_to_mql_rate, mql_to_sql_rate, sql_to_opportunity_rate, opportunity_to_customer_rate,
--          lead_to_customer_rate, avg_days_lead_to_mql, avg_days_mql_to_sql,
--          avg_days_sql_to_opportunity, avg_days_opportunity_to_customer, avg_days_lead_to_customer
-- notes:   a lead is a contact that reached the lead stage or a later one (subscribers and other
--          contacts that never did are not). A contact has reached a stage when it has that
--          stage's time or any later stage's (CRMs skip stages: a Salesforce lead converts
--          straight to an opportunity), so the counts never grow down the funnel. A stage the
--          client's CRM never records (no contact of it has that stage's time: HubSpot exports
--          often carry no MQL or SQL dates) is unknown, not passed: its count and every rate into
--          or out of it are NULL. A stage rate is reached next stage / reached this stage, NULL
--          when nobody reached this stage. Days between stages average the contacts with both
--          times. The entry time is lead_at, else created_at.
WITH staged AS (
    SELECT
        c.client_id, c.source_system,
        CAST(date_trunc('month', local_date(COALESCE(c.lead_at, c.created_at), cl.time_zone)) AS DATE) AS cohort_month,
        COALESCE(c.lead_at, c.created_at) AS lead_ts,
        c.mql_at, c.sql_at, c.opportunity_at, c.customer_at,
        c.mql_at IS NOT NULL OR c.sql_at IS NOT NULL OR c.opportunity_at IS NOT NULL OR c.customer_at IS NOT NULL AS is_mql,
        c.sql_at IS NOT NULL OR c.opportunity_at IS NOT NULL OR c.customer_at IS NOT NULL AS is_sql,
        c.opportunity_at IS NOT NULL OR c.customer_at IS NOT NULL AS is_opportunity,
        c.customer_at IS NOT NULL AS is_customer
    FROM contacts c
    JOIN clients cl ON cl.client_id = c.client_id
    WHERE COALESCE(c.lead_at, c.created_at) IS NOT NULL
        AND (c.lead_at IS NOT NULL OR c.mql_at IS NOT NULL OR c.sql_at IS NOT NULL
             OR c.opportunity_at IS NOT NULL OR c.customer_at IS NOT NULL)
),
recorded AS (
    SELECT client_id, source_system,
        bool_or(mql_at IS NOT NULL) AS has_mql,
        bool_or(sql_at IS NOT NULL) AS has_sql,
        bool_or(opportunity_at IS NOT NULL) AS has_opportunity,
        bool_or(customer_at IS NOT NULL) AS has_customer
    FROM contacts
    GROUP BY client_id, source_system
),
counted AS (
    SELECT client_id, source_system, cohort_month,
        count(*) AS leads,
        sum(CASE WHEN is_mql THEN 1 ELSE 0 END) AS mqls,
        sum(CASE WHEN is_sql THEN 1 ELSE 0 END) AS sqls,
        sum(CASE WHEN is_opportunity THEN 1 ELSE 0 END) AS opportunities,
        sum(CASE WHEN is_customer THEN 1 ELSE 0 END) AS customers,
        avg(CAST(mql_at - lead_ts AS BIGINT)) AS lead_to_mql,
        avg(CAST(sql_at - mql_at AS BIGINT)) AS mql_to_sql,
        avg(CAST(opportunity_at - sql_at AS BIGINT)) AS sql_to_opportunity,
        avg(CAST(customer_at - opportunity_at AS BIGINT)) AS opportunity_to_customer,
        avg(CAST(customer_at - lead_ts AS BIGINT)) AS lead_to_customer
    FROM staged
    GROUP BY client_id, source_system, cohort_month
),
known AS (
    SELECT counted.client_id, counted.source_system, counted.cohort_month, counted.leads,
        CASE WHEN recorded.has_mql THEN counted.mqls END AS mqls,
        CASE WHEN recorded.has_sql THEN counted.sqls END AS sqls,
        CASE WHEN recorded.has_opportunity THEN counted.opportunities END AS opportunities,
        CASE WHEN recorded.has_customer THEN counted.customers END AS customers,
        counted.lead_to_mql, counted.mql_to_sql, counted.sql_to_opportunity,
        counted.opportunity_to_customer, counted.lead_to_customer
    FROM counted
    JOIN recorded
        ON recorded.client_id = counted.client_id AND recorded.source_system = counted.source_system
)
SELECT
    client_id, source_system, cohort_month, leads, mqls, sqls, opportunities, customers,
    CAST(mqls AS DOUBLE) / NULLIF(leads, 0) AS lead_to_mql_rate,
    CAST(sqls AS DOUBLE) / NULLIF(mqls, 0) AS mql_to_sql_rate,
    CAST(opportunities AS DOUBLE) / NULLIF(sqls, 0) AS sql_to_opportunity_rate,
    CAST(customers AS DOUBLE) / NULLIF(opportunities, 0) AS opportunity_to_customer_rate,
    CAST(customers AS DOUBLE) / NULLIF(leads, 0) AS lead_to_customer_rate,
    lead_to_mql / 86400000000.0 AS avg_days_lead_to_mql,
    mql_to_sql / 86400000000.0 AS avg_days_mql_to_sql,
    sql_to_opportunity / 86400000000.0 AS avg_days_sql_to_opportunity,
    opportunity_to_customer / 86400000000.0 AS avg_days_opportunity_to_customer,
    lead_to_customer / 86400000000.0 AS avg_days_lead_to_customer
FROM known
