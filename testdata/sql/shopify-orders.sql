-- Shopify orders in Fivetran's schema (../shared/data/shopify-orders.csv),
-- loaded with --table crm.shopify_orders. Qualified when paid and not
-- cancelled; test orders left out; the shipping address's city, country
-- and province as params. Shopify keeps no analytics client id, so rows
-- are unattributed; the customer is the user id. Every order up to the
-- run's day is re-checked on each run.
SELECT
  id,
  created_at AS created,
  total_price AS value,
  currency,
  financial_status = 'paid' AND cancelled_at IS NULL AS is_qualified,
  customer_id AS user_id,
  ARRAY(
    SELECT AS STRUCT k AS key, v AS value
    FROM UNNEST([
      STRUCT('city' AS k, shipping_address_city AS v),
      STRUCT('country' AS k, shipping_address_country AS v),
      STRUCT('region' AS k, shipping_address_province AS v)])
    WHERE v IS NOT NULL) AS params
FROM `crm.shopify_orders`
WHERE DATE(created_at) <= @end_date
  AND NOT IFNULL(test, FALSE)
