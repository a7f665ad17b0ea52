-- DESIGN.md's reference definition, unchanged but for the table name:
-- orders with a GA client id, qualified once confirmed or paid, with the
-- geo properties as params. Re-checks the 30 days before the run's day.
SELECT id, userId AS client_id, createdAt AS created,
  orderValue AS value, 'GBP' AS currency,
  IF(orderStatus IN ('confirmed', 'paid'), TRUE, FALSE) AS is_qualified,
  ARRAY(SELECT AS STRUCT * FROM UNNEST(properties)
        WHERE key IN ('country', 'region', 'city')) AS params
FROM `crm.orders`
WHERE DATE(createdAt) BETWEEN DATE_SUB(@start_date, INTERVAL 30 DAY)
  AND @end_date
