-- pipeline_kpis: deal pipeline per client and month: created, won, lost, win rate, deal size,
--          sales cycle, open pipeline at month end, and pipeline velocity.
-- grain:   client x month (every month a deal was created or closed in, client's time zone).
-- inputs:  `deals` (amounts in the reporting currency).
-- columns: client_id, month, opportunities_created, won, lost, win_rate, won_revenue,
--          avg_deal_size, avg_sales_cycle_days, open_opportunities, open_pipeline_value,
--          pipeline_velocity
-- notes:   won / lost count deals closed in the month; win_rate = won / (won + lost);
--          avg_deal_size = won revenue / won; avg_sales_cycle_days = mean days from creation to
--          close of the month's won deals; open_* = deals created by the month's end and not
--          closed by then; pipeline_velocity = open opportunities x win rate x average deal size /
--          average sales cycle days (revenue per day the open pipeline is expected to yield).
--          Ratios with a zero or missing denominator are NULL.
WITH months AS (
    SELECT DISTINCT client_id, CAST(date_trunc('month', created_date) AS DATE) AS month FROM deals
    UNION
    SELECT DISTINCT client_id, CAST(date_trunc('month', closed_date) AS DATE) FROM deals
    WHERE closed_date IS NOT NULL
),
counted AS (
    SELECT
        m.client_id, m.month,
        sum(CASE WHEN CAST(date_trunc('month', d.created_date) AS DATE) = m.month THEN 1 ELSE 0 END) AS opportunities_created,
        sum(CASE WHEN d.is_won AND CAST(date_trunc('month', d.closed_date) AS DATE) = m.month THEN 1 ELSE 0 END) AS won,
        sum(CASE WHEN d.is_closed AND NOT d.is_won AND CAST(date_trunc('month', d.closed_date) AS DATE) = m.month THEN 1 ELSE 0 END) AS lost,
        sum(CASE WHEN d.is_won AND CAST(date_trunc('month', d.closed_date) AS DATE) = m.month THEN d.amount ELSE 0.0 END) AS won_revenue,
        avg(CASE WHEN d.is_won AND CAST(date_trunc('month', d.closed_date) AS DATE) = m.month
            THEN CAST(d.closed_at - d.created_at AS BIGINT) / 86400000000.0 END) AS avg_sales_cycle_days,
        sum(CASE WHEN d.created_date < m.month + INTERVAL '1' MONTH
                  AND (d.closed_date IS NULL OR d.closed_date >= m.month + INTERVAL '1' MONTH)
            THEN 1 ELSE 0 END) AS open_opportunities,
        sum(CASE WHEN d.created_date < m.month + INTERVAL '1' MONTH
                  AND (d.closed_date IS NULL OR d.closed_date >= m.month + INTERVAL '1' MONTH)
            THEN COALESCE(d.amount, 0.0) ELSE 0.0 END) AS open_pipeline_value
    FROM months m
    JOIN deals d ON d.client_id = m.client_id
    GROUP BY m.client_id, m.month
)
SELECT
    client_id, month, opportunities_created, won, lost,
    CAST(won AS DOUBLE) / NULLIF(won + lost, 0) AS win_rate,
    won_revenue,
    won_revenue / NULLIF(won, 0) AS avg_deal_size,
    avg_sales_cycle_days,
    open_opportunities,
    open_pipeline_value,
    open_opportunities * (CAST(won AS DOUBLE) / NULLIF(won + lost, 0)) * (won_revenue / NULLIF(won, 0))
        / NULLIF(avg_sales_cycle_days, 0) AS pipeline_velocity
FROM counted
