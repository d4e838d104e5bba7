-- ltv_cac: customer acquisition cost, lifetime value, LTV:CAC and payback per client and month.
-- grain:   client x month (a customer's cohort is the month of their first won deal).
-- inputs:  `deals` (won, reporting currency), `ad_performance` (spend), `costs` (other marketing
--          and sales cost), `clients` (gross_margin, monthly_churn, contract_months from the
--          project file).
-- columns: client_id, month, new_customers, marketing_spend, other_marketing_cost, sales_cost,
--          acquisition_cost, cac, revenue_per_customer,
--          monthly_revenue_per_customer, gross_margin, monthly_churn, ltv, ltv_method, ltv_to_cac,
--          payback_months
-- notes:   a customer is a won deal's contact (the deal itself when it has none), new in the
--          month of their first won deal (repeat deals are revenue, not customers).
--          marketing_spend is the month's media (ad) spend; other_marketing_cost and sales_cost
--          come from the project's `costs` table; acquisition_cost is their sum (NULL when the
--          month has none of them); cac = acquisition_cost / new customers. revenue_per_customer = the cohort's won revenue to date per customer;
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
other AS (
    SELECT client_id, CAST(month AS DATE) AS month,
           sum(CASE WHEN category = 'marketing' THEN amount END) AS other_marketing_cost,
           sum(CASE WHEN category = 'sales' THEN amount END) AS sales_cost
    FROM costs GROUP BY 1, 2
),
cohort_spend AS (
    SELECT COALESCE(c.client_id, s.client_id) AS client_id, COALESCE(c.month, s.month) AS month,
           c.new_customers, c.revenue, s.marketing_spend
    FROM cohorts c
    FULL OUTER JOIN spend s ON s.client_id = c.client_id AND s.month = c.month
),
joined AS (
    SELECT COALESCE(cs.client_id, o.client_id) AS client_id, COALESCE(cs.month, o.month) AS month,
           COALESCE(cs.new_customers, 0) AS new_customers, cs.marketing_spend,
           o.other_marketing_cost, o.sales_cost,
           CASE WHEN cs.marketing_spend IS NULL AND o.other_marketing_cost IS NULL AND o.sales_cost IS NULL
               THEN NULL
               ELSE COALESCE(cs.marketing_spend, 0.0) + COALESCE(o.other_marketing_cost, 0.0) + COALESCE(o.sales_cost, 0.0)
           END AS acquisition_cost,
           cs.revenue / NULLIF(cs.new_customers, 0) AS revenue_per_customer
    FROM cohort_spend cs
    FULL OUTER JOIN other o ON o.client_id = cs.client_id AND o.month = cs.month
),
valued AS (
    SELECT j.*, cl.gross_margin, cl.monthly_churn,
           j.acquisition_cost / NULLIF(j.new_customers, 0) AS cac,
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
SELECT client_id, month, new_customers, marketing_spend, other_marketing_cost, sales_cost,
       acquisition_cost, cac, revenue_per_customer,
       monthly_revenue_per_customer, gross_margin, monthly_churn, ltv, ltv_method,
       ltv / NULLIF(cac, 0) AS ltv_to_cac,
       cac / NULLIF(monthly_revenue_per_customer * gross_margin, 0) AS payback_months
FROM valued
