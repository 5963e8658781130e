/**
 * The DynamoDB aggregates items of CONTRACT.md §3 recomputed in DuckDB SQL from the staged
 * `orders` and `order_categories` tables (every order, no as_of), as one row per non-zero figure:
 * `(pk, sk, field, value)`. Field names are the business names that `item-layout.ts` decodes the
 * stored attributes into, so the two sides meet in one table join:
 *
 * | item | fields |
 * |---|---|
 * | `LOC` / `<location>` | the totals below |
 * | `L#<location>` / `D#<date>`, `ALL` / `D#<date>` | the totals, `hour[HH].…`, `category[<name>].…` (orders, items, netCents) |
 * | `C#<customer>` / `M#<YYYY-MM>` | `day[DD][<location>].orders`, `.netCents`, `.loyaltyOrders` |
 *
 * Totals: orders, items, netCents, grossCents, discountCents, discountedOrders, discountedItems,
 * discountedNetCents, discountedGrossCents, guestOrders, guestNetCents.
 */

/** The totals every location-total and day item holds, in field order. */
export const totalFields = [
  'orders',
  'items',
  'netCents',
  'grossCents',
  'discountCents',
  'discountedOrders',
  'discountedItems',
  'discountedNetCents',
  'discountedGrossCents',
  'guestOrders',
  'guestNetCents',
] as const;
export type TotalField = (typeof totalFields)[number];

/** The figures of a breakdown entry (an hour, a category). */
export const breakdownFields = ['orders', 'items', 'netCents'] as const;

/** The figures of a customer's entry for one day at one location. */
export const customerDayFields = ['orders', 'netCents', 'loyaltyOrders'] as const;

/** `category[<name>].<figure>` */
export const categoryField = (category: string, figure: string): string => `category[${category}].${figure}`;
/** `hour[HH].<figure>` */
export const hourField = (hour: string, figure: string): string => `hour[${hour}].${figure}`;
/** `day[DD][<location>].<figure>` */
export const customerDayField = (dayOfMonth: string, locationId: string, figure: string): string =>
  `day[${dayOfMonth}][${locationId}].${figure}`;

/** The table both sides are loaded into: one row per non-zero figure of an item. */
export const fieldTablesSql = `
CREATE OR REPLACE TABLE expected_fields (pk VARCHAR, sk VARCHAR, field VARCHAR, value VARCHAR);
CREATE OR REPLACE TABLE actual_fields (pk VARCHAR, sk VARCHAR, field VARCHAR, value VARCHAR);
`;

/**
 * Adds up the fields that several stored items give one item: the parts a customer month is kept
 * in, one per shard (see `decodeStoredItem`). Counters are summed and a sum of 0 is left out, as
 * a 0 counter is; values that are not integers are listed, so a disagreement shows. Run after
 * `actual_fields` is loaded.
 */
export const sumActualPartsSql = `
CREATE OR REPLACE TABLE actual_fields AS
SELECT pk, sk, field,
  CASE
    WHEN count(*) = 1 THEN any_value(value)
    WHEN count(*) = count(TRY_CAST(value AS HUGEINT)) THEN CAST(sum(TRY_CAST(value AS HUGEINT)) AS VARCHAR)
    ELSE string_agg(value, ' + ' ORDER BY value)
  END AS value
FROM actual_fields GROUP BY pk, sk, field;
DELETE FROM actual_fields WHERE value = '0';
`;

/** A list of `{field, value}` structs for the unnest of one row's figures. */
function figureList(fields: readonly (readonly [name: string, expression: string])[]): string {
  return `[${fields.map(([name, expression]) => `{'field': ${name}, 'value': CAST(${expression} AS HUGEINT)}`).join(', ')}]`;
}

/** Fills `expected_fields` from the staged orders (run after the staging SQL). */
export const expectedAggregatesSql = `
CREATE OR REPLACE TEMP TABLE order_scopes AS
SELECT 'L#' || location_id AS pk, 'D#' || date_text(local_date) AS sk, true AS is_day, * FROM orders
UNION ALL SELECT 'ALL', 'D#' || date_text(local_date), true, * FROM orders
UNION ALL SELECT 'LOC', location_id, false, * FROM orders;

INSERT INTO expected_fields
SELECT pk, sk, figure.field, CAST(figure.value AS VARCHAR) FROM (
  SELECT pk, sk, unnest(${figureList([
    ["'orders'", 'orders'],
    ["'items'", 'items'],
    ["'netCents'", 'net_cents'],
    ["'grossCents'", 'gross_cents'],
    ["'discountCents'", 'discount_cents'],
    ["'discountedOrders'", 'discounted_orders'],
    ["'discountedItems'", 'discounted_items'],
    ["'discountedNetCents'", 'discounted_net_cents'],
    ["'discountedGrossCents'", 'discounted_gross_cents'],
    ["'guestOrders'", 'guest_orders'],
    ["'guestNetCents'", 'guest_net_cents'],
  ])}) AS figure
  FROM (
    SELECT pk, sk, count(*) AS orders, sum(items) AS items, sum(net_cents) AS net_cents,
      sum(gross_cents) AS gross_cents, sum(discount_cents) AS discount_cents,
      count(*) FILTER (WHERE discounted) AS discounted_orders,
      coalesce(sum(items) FILTER (WHERE discounted), 0) AS discounted_items,
      coalesce(sum(net_cents) FILTER (WHERE discounted), 0) AS discounted_net_cents,
      coalesce(sum(gross_cents) FILTER (WHERE discounted), 0) AS discounted_gross_cents,
      count(*) FILTER (WHERE customer_id IS NULL) AS guest_orders,
      coalesce(sum(net_cents) FILTER (WHERE customer_id IS NULL), 0) AS guest_net_cents
    FROM order_scopes GROUP BY pk, sk
  )
) WHERE figure.value <> 0;

INSERT INTO expected_fields
SELECT pk, sk, 'hour[' || hour_text || '].' || figure.field, CAST(figure.value AS VARCHAR) FROM (
  SELECT pk, sk, hour_text, unnest(${figureList([
    ["'orders'", 'orders'],
    ["'items'", 'items'],
    ["'netCents'", 'net_cents'],
  ])}) AS figure
  FROM (
    SELECT pk, sk, lpad(CAST(local_hour AS VARCHAR), 2, '0') AS hour_text, count(*) AS orders,
      sum(items) AS items, sum(net_cents) AS net_cents
    FROM order_scopes WHERE is_day GROUP BY ALL
  )
) WHERE figure.value <> 0;

-- An order counts once in each category it contains.
INSERT INTO expected_fields
SELECT pk, sk, 'category[' || category || '].' || figure.field, CAST(figure.value AS VARCHAR) FROM (
  SELECT pk, sk, category, unnest(${figureList([
    ["'orders'", 'orders'],
    ["'items'", 'items'],
    ["'netCents'", 'net_cents'],
  ])}) AS figure
  FROM (
    SELECT s.pk, s.sk, c.category, count(*) AS orders, sum(c.items) AS items, sum(c.net_cents) AS net_cents
    FROM order_categories c JOIN order_scopes s USING (order_id)
    WHERE s.is_day GROUP BY ALL
  )
) WHERE figure.value <> 0;

INSERT INTO expected_fields
SELECT pk, sk, 'day[' || day_of_month || '][' || location_id || '].' || figure.field, CAST(figure.value AS VARCHAR) FROM (
  SELECT pk, sk, day_of_month, location_id, unnest(${figureList([
    ["'orders'", 'orders'],
    ["'netCents'", 'net_cents'],
    ["'loyaltyOrders'", 'loyalty_orders'],
  ])}) AS figure
  FROM (
    SELECT 'C#' || customer_id AS pk, 'M#' || strftime(local_date, '%Y-%m') AS sk,
      strftime(local_date, '%d') AS day_of_month, location_id, count(*) AS orders, sum(net_cents) AS net_cents,
      count(*) FILTER (WHERE is_loyalty) AS loyalty_orders
    FROM orders WHERE customer_id IS NOT NULL GROUP BY ALL
  )
) WHERE figure.value <> 0;
`;

/** Longest item summary in a missing/extra item's difference. */
const SUMMARY_CHARS = 160;

/**
 * The differences between `expected_fields` and `actual_fields`: an item on one side only is one
 * row (field `(item)`, the other side's figures summarised), otherwise one row per differing
 * field. Columns: pk, sk, field, expected, actual; ordered by item, then field.
 */
export const fieldDifferencesSql = `
WITH expected_items AS (SELECT DISTINCT pk, sk FROM expected_fields),
actual_items AS (SELECT DISTINCT pk, sk FROM actual_fields),
summaries AS (
  SELECT 'expected' AS side, pk, sk, string_agg(field || '=' || value, ' ' ORDER BY field) AS summary
  FROM expected_fields GROUP BY pk, sk
  UNION ALL
  SELECT 'actual', pk, sk, string_agg(field || '=' || value, ' ' ORDER BY field) FROM actual_fields GROUP BY pk, sk
),
shortened AS (
  SELECT side, pk, sk,
    CASE WHEN length(summary) > ${SUMMARY_CHARS} THEN left(summary, ${SUMMARY_CHARS - 1}) || '…' ELSE summary END AS summary
  FROM summaries
),
one_sided AS (
  SELECT pk, sk, '(item)' AS field, s.summary AS expected, NULL AS actual
  FROM (SELECT * FROM expected_items EXCEPT SELECT * FROM actual_items) JOIN shortened s USING (pk, sk)
  WHERE s.side = 'expected'
  UNION ALL
  SELECT pk, sk, '(item)', NULL, s.summary
  FROM (SELECT * FROM actual_items EXCEPT SELECT * FROM expected_items) JOIN shortened s USING (pk, sk)
  WHERE s.side = 'actual'
),
both_sides AS (SELECT * FROM expected_items INTERSECT SELECT * FROM actual_items),
field_differences AS (
  SELECT coalesce(e.pk, a.pk) AS pk, coalesce(e.sk, a.sk) AS sk, coalesce(e.field, a.field) AS field,
    e.value AS expected, a.value AS actual
  FROM (SELECT e.* FROM expected_fields e SEMI JOIN both_sides USING (pk, sk)) e
  FULL OUTER JOIN (SELECT a.* FROM actual_fields a SEMI JOIN both_sides USING (pk, sk)) a
    USING (pk, sk, field)
  WHERE e.value IS DISTINCT FROM a.value
)
SELECT pk, sk, field, expected, actual FROM (SELECT * FROM one_sided UNION ALL SELECT * FROM field_differences)
ORDER BY pk, sk, field`;

/** The number of items either side has. */
export const checkedItemsSql = `
SELECT count(*) FROM (SELECT DISTINCT pk, sk FROM expected_fields UNION SELECT DISTINCT pk, sk FROM actual_fields)`;
