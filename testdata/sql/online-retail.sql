-- UCI Online Retail (../shared/data/online-retail-sample.csv), loaded with
--   --table crm.online_retail --tz Europe/London
-- One conversion per invoice: its lines summed, in sterling. Invoices
-- numbered C... are cancellations: kept, unqualified, with their negative
-- value. CustomerID NA reads as NULL. The export has no analytics client
-- id, so no row is attributed to a session. Every invoice up to the run's
-- day is re-checked on each run.
SELECT
  InvoiceNo AS id,
  MIN(InvoiceDate) AS created,
  ROUND(SUM(Quantity * UnitPrice), 2) AS value,
  'GBP' AS currency,
  NOT STARTS_WITH(InvoiceNo, 'C') AS is_qualified,
  ANY_VALUE(CustomerID) AS user_id,
  [STRUCT('country' AS key, ANY_VALUE(Country) AS value)] AS params
FROM `crm.online_retail`
WHERE DATE(InvoiceDate) <= @end_date
GROUP BY InvoiceNo
