-- ltv_cac: customer acquisition cost, lifetime value, LTV:CAC and payback per client and month.
-- grain:   client x month (a customer's cohort is the month of their first won deal).
-- inputs:  `deals` (won, reporting currency), `ad_performance` (spend), `clients` (gross_margin,
--          monthly_churn, contract_months from the project file).
-- columns: client_id, month, new_customers, marketing_spend, cac, revenue_per_customer,
--          monthly_revenue_per_customer, gross_margin, monthly_churn, ltv, ltv_method, ltv_to_cac,
--          payback_months
-- notes:   a customer is a won deal's contact (the deal itself when it has none). cac =
--          the month's ad spend / its new customers (media cost only: add sales cost outside
--          loopql). revenue_per_customer = the cohort's won revenue to date per customer;
--          monthly_revenue_per_customer = that / contract_months (12 unless the client sets it).
--          ltv: with the client's monthly_churn, the subscription formula monthly revenue x gross
--          margin / churn (ltv_method 'subscription'); without it, the revenue so far x gross
--          margin ('historical'). payback_months = cac / (monthly revenue x gross margin). A
--          ratio with a zero or missing denominator is NULL.
WITH customers AS (
    SELECT client_id, COALESCE(contact_id, deal_id) AS customer,
           min(closed_date) AS first_won, sum(amount) AS revenue
    FROM deals
    WHERE is_won AND closed_date IS NOT NULL
    GROUP BY 1, 2
),
cohorts AS (
    SELECT client_id, CAST(date_trunc('month', first_won) AS DATE) AS month,
           count(*) AS new_customers, sum(revenue) AS revenue
    FROM customers GROUP BY 1, 2
),
spend AS (
    SELECT client_id, CAST(date_trunc('month', date) AS DATE) AS month, sum(spend) AS marketing_spend
    FROM ad_performance GROUP BY 1, 2
),
joined AS (
    SELECT COALESCE(c.client_id, s.client_id) AS client_id, COALESCE(c.month, s.month) AS month,
           COALESCE(c.new_customers, 0) AS new_customers, s.marketing_spend,
           c.revenue / NULLIF(c.new_customers, 0) AS revenue_per_customer
    FROM cohorts c
    FULL OUTER JOIN spend s ON s.client_id = c.client_id AND s.month = c.month
),
valued AS (
    SELECT j.*, cl.gross_margin, cl.monthly_churn,
           j.marketing_spend / NULLIF(j.new_customers, 0) AS cac,
           j.revenue_per_customer / cl.contract_months AS monthly_revenue_per_customer,
           CASE
               WHEN cl.monthly_churn IS NOT NULL
                   THEN j.revenue_per_customer / cl.contract_months * cl.gross_margin / cl.monthly_churn
               ELSE j.revenue_per_customer * cl.gross_margin
           END AS ltv,
           CASE WHEN cl.monthly_churn IS NOT NULL THEN 'subscription' ELSE 'historical' END AS ltv_method
    FROM joined j
    JOIN clients cl ON cl.client_id = j.client_id
)
SELECT client_id, month, new_customers, marketing_spend, cac, revenue_per_customer,
       monthly_revenue_per_customer, gross_margin, monthly_churn, ltv, ltv_method,
       ltv / NULLIF(cac, 0) AS ltv_to_cac,
       cac / NULLIF(monthly_revenue_per_customer * gross_margin, 0) AS payback_months
FROM valued
