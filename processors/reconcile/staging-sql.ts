/**
 * The staging layer of the recomputation, in DuckDB SQL: raw rows (all VARCHAR, as read) →
 * validated and normalised rows (CONTRACT.md §1) → the accepted line items and options (first
 * accepted row of an identity wins) → orders (§2) with their local date and hour. Shares nothing
 * with the stream path: the rules are written again here from the contract.
 */

/** Settings the staging rules read (CONTRACT.md §1). */
export interface StagingSettings {
  readonly currency: string;
  readonly testAppPattern: string;
  readonly defaultTimeZone: string;
  readonly futureToleranceMs: number;
  readonly orphanGraceDays: number;
}

/** A string as a SQL literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A safe integer as a SQL literal (throws on anything else, so no text reaches the SQL). */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
  return String(value);
}

/** Tables the loader fills, one row per CSV record (fields as read, empty fields as ''). */
export const rawTablesSql = `
SET TimeZone = 'UTC';
CREATE TABLE input_files (arrival INTEGER, path VARCHAR, modified_ms BIGINT, kind VARCHAR);
CREATE TABLE raw_items (
  arrival INTEGER, row_in_file BIGINT, app_name VARCHAR, restaurant_id VARCHAR, created_text VARCHAR,
  order_id VARCHAR, user_id VARCHAR, card VARCHAR, loyalty_text VARCHAR, currency_text VARCHAR,
  lineitem_id VARCHAR, category_text VARCHAR, item_name VARCHAR, price_text VARCHAR, quantity_text VARCHAR);
CREATE TABLE raw_options (
  arrival INTEGER, row_in_file BIGINT, order_id VARCHAR, lineitem_id VARCHAR, group_name VARCHAR,
  option_name VARCHAR, price_text VARCHAR, quantity_text VARCHAR);
CREATE TABLE raw_calendar (arrival INTEGER, row_in_file BIGINT, date_key VARCHAR, holiday_text VARCHAR, holiday_name VARCHAR);
CREATE TABLE raw_locations (arrival INTEGER, row_in_file BIGINT, restaurant_id VARCHAR, name VARCHAR, zone_text VARCHAR);
-- Records DuckDB could not read as a row of the header's width (wrong field count, bad quoting).
CREATE TABLE unread_rows (kind VARCHAR, arrival INTEGER, line BIGINT);
`;

/**
 * Field rules as macros: each returns NULL for a value the contract does not accept.
 * - `blank`: empty after trimming spaces and tabs.
 * - `cents_of`: a decimal with at most 2 places, exactly, as integer cents (`2.5` = 250).
 * - `quantity_of`: an integer literal ≥ 1 (`1.5`, `0`, `+1`, `1e2` are not).
 * - `boolean_of`: TRUE/FALSE/1/0 in any case, empty = false.
 * - `instant_ms_of`: ISO-8601 date and time, `T` or space, optional seconds and fraction (beyond
 *   milliseconds truncated), `Z`/`±HH`/`±HHMM`/`±HH:MM` or no offset (= UTC); a date alone is NULL.
 */
export const fieldMacrosSql = `
CREATE MACRO clean(text) AS trim(text, E' \\t');
CREATE MACRO blank(text) AS clean(text) = '';
CREATE MACRO cents_of(text) AS CASE WHEN regexp_full_match(clean(text), '-?[0-9]+(\\.[0-9]{1,2})?')
  THEN TRY_CAST(TRY_CAST(clean(text) AS DECIMAL(38, 2)) * 100 AS BIGINT) END;
CREATE MACRO quantity_of(text) AS CASE WHEN regexp_full_match(clean(text), '[0-9]{1,15}')
  AND TRY_CAST(clean(text) AS BIGINT) >= 1 THEN TRY_CAST(clean(text) AS BIGINT) END;
CREATE MACRO boolean_of(text) AS CASE
  WHEN upper(clean(text)) IN ('TRUE', '1') THEN true
  WHEN upper(clean(text)) IN ('FALSE', '0', '') THEN false END;
CREATE MACRO instant_parts(text) AS regexp_extract(clean(text),
  '^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.([0-9]{1,9}))?)?([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?$',
  ['year', 'month', 'day', 'hour', 'minute', 'second', 'fraction', 'zone']);
CREATE MACRO offset_minutes(zone) AS CASE
  WHEN zone = '' OR upper(zone) = 'Z' THEN 0
  ELSE (CASE WHEN left(zone, 1) = '-' THEN -1 ELSE 1 END)
    * (TRY_CAST(substr(replace(zone, ':', ''), 2, 2) AS INTEGER) * 60
       + CASE WHEN length(replace(zone, ':', '')) = 5 THEN TRY_CAST(substr(replace(zone, ':', ''), 4, 2) AS INTEGER) ELSE 0 END)
  END;
CREATE MACRO instant_ms_from(p) AS CASE
  WHEN p.year = '' THEN NULL
  WHEN TRY_CAST(p.hour AS INTEGER) > 23 OR TRY_CAST(p.minute AS INTEGER) > 59
    OR (p.second <> '' AND TRY_CAST(p.second AS INTEGER) > 59) THEN NULL
  WHEN p.zone NOT IN ('', 'Z', 'z') AND (TRY_CAST(substr(replace(p.zone, ':', ''), 2, 2) AS INTEGER) > 23
    OR (length(replace(p.zone, ':', '')) = 5 AND TRY_CAST(substr(replace(p.zone, ':', ''), 4, 2) AS INTEGER) > 59)) THEN NULL
  ELSE
    date_diff('day', DATE '1970-01-01', TRY_CAST(p.year || '-' || p.month || '-' || p.day AS DATE)) * 86400000::BIGINT
    + ((TRY_CAST(p.hour AS BIGINT) * 60 + TRY_CAST(p.minute AS BIGINT) - offset_minutes(p.zone)) * 60
       + CASE WHEN p.second = '' THEN 0 ELSE TRY_CAST(p.second AS BIGINT) END) * 1000
    + CASE WHEN p.fraction = '' THEN 0 ELSE TRY_CAST(left(rpad(p.fraction, 3, '0'), 3) AS BIGINT) END
  END;
CREATE MACRO instant_ms_of(text) AS instant_ms_from(instant_parts(text));
CREATE MACRO day_month_year_of(text) AS CASE WHEN regexp_full_match(clean(text), '[0-9]{2}-[0-9]{2}-[0-9]{4}')
  THEN TRY_CAST(substr(clean(text), 7, 4) || '-' || substr(clean(text), 4, 2) || '-' || substr(clean(text), 1, 2) AS DATE) END;
`;

/**
 * Validation, dedupe and orders. Every raw row gets an `outcome`: `accepted`, `duplicate`,
 * `conflicting_duplicate`, `excluded` (test app), `orphan_option` or a rejection reason.
 */
export function stagingSql(settings: StagingSettings): string {
  const pattern = sqlString(settings.testAppPattern.toUpperCase());
  const currency = sqlString(settings.currency.toUpperCase());
  const toleranceMs = sqlInteger(settings.futureToleranceMs);
  const graceMs = sqlInteger(settings.orphanGraceDays * 86_400_000);
  const defaultZone = sqlString(settings.defaultTimeZone);
  return `
CREATE TABLE items_checked AS
SELECT r.*, f.modified_ms AS file_ms, f.path AS file_path,
  instant_ms_from(r.created_parts) AS created_ms,
  boolean_of(r.loyalty_text) AS is_loyalty,
  cents_of(r.price_text) AS unit_price_cents,
  quantity_of(r.quantity_text) AS quantity,
  CASE WHEN blank(r.user_id) THEN NULL ELSE r.user_id END AS customer_id,
  CASE WHEN blank(r.card) THEN NULL ELSE r.card END AS card_number,
  CASE WHEN blank(r.category_text) THEN 'Uncategorized' ELSE r.category_text END AS category
-- The parts are extracted once per row: a macro argument is expanded at every use.
FROM (SELECT *, instant_parts(created_text) AS created_parts FROM raw_items) r JOIN input_files f USING (arrival);

ALTER TABLE items_checked ADD COLUMN reason VARCHAR;
UPDATE items_checked SET reason = CASE
  WHEN ${pattern} <> '' AND contains(upper(app_name), ${pattern}) THEN 'excluded'
  WHEN blank(restaurant_id) OR blank(created_text) THEN 'missing_field'
  WHEN created_ms IS NULL THEN 'bad_timestamp'
  WHEN created_ms > file_ms + ${toleranceMs} THEN 'future_timestamp'
  WHEN blank(order_id) THEN 'missing_field'
  WHEN is_loyalty IS NULL THEN 'bad_boolean'
  WHEN blank(currency_text) THEN 'missing_field'
  WHEN upper(clean(currency_text)) <> ${currency} THEN 'wrong_currency'
  WHEN blank(lineitem_id) OR blank(price_text) THEN 'missing_field'
  WHEN unit_price_cents IS NULL THEN 'bad_number'
  WHEN unit_price_cents < 0 THEN 'negative_price'
  WHEN blank(quantity_text) THEN 'missing_field'
  WHEN quantity IS NULL THEN 'bad_quantity'
  END;

-- The first valid row of an identity wins; a later one is a duplicate when its normalised values
-- are equal, otherwise a conflicting duplicate.
CREATE TABLE items_ranked AS
SELECT *,
  row_number() OVER (PARTITION BY order_id, lineitem_id ORDER BY arrival, row_in_file) AS identity_position,
  first_value([app_name, restaurant_id, CAST(created_ms AS VARCHAR), coalesce(customer_id, ''), coalesce(card_number, ''),
    CAST(is_loyalty AS VARCHAR), category, item_name, CAST(unit_price_cents AS VARCHAR), CAST(quantity AS VARCHAR)])
    OVER (PARTITION BY order_id, lineitem_id ORDER BY arrival, row_in_file) AS winner_values,
  [app_name, restaurant_id, CAST(created_ms AS VARCHAR), coalesce(customer_id, ''), coalesce(card_number, ''),
    CAST(is_loyalty AS VARCHAR), category, item_name, CAST(unit_price_cents AS VARCHAR), CAST(quantity AS VARCHAR)] AS row_values
FROM items_checked WHERE reason IS NULL;

CREATE TABLE lines AS
SELECT arrival, row_in_file, file_ms, order_id, lineitem_id, restaurant_id, created_ms, customer_id,
  is_loyalty, category, unit_price_cents, quantity
FROM items_ranked WHERE identity_position = 1;

CREATE TABLE options_checked AS
SELECT r.*, f.modified_ms AS file_ms, f.path AS file_path,
  cents_of(r.price_text) AS price_cents, quantity_of(r.quantity_text) AS quantity,
  CASE
    WHEN blank(r.order_id) OR blank(r.lineitem_id) OR blank(r.price_text) THEN 'missing_field'
    WHEN cents_of(r.price_text) IS NULL THEN 'bad_number'
    WHEN blank(r.quantity_text) THEN 'missing_field'
    WHEN quantity_of(r.quantity_text) IS NULL THEN 'bad_quantity'
  END AS reason
FROM raw_options r JOIN input_files f USING (arrival);

CREATE TABLE options_ranked AS
SELECT *,
  row_number() OVER (PARTITION BY order_id, lineitem_id, group_name, option_name ORDER BY arrival, row_in_file) AS identity_position,
  first_value([CAST(price_cents AS VARCHAR), CAST(quantity AS VARCHAR)])
    OVER (PARTITION BY order_id, lineitem_id, group_name, option_name ORDER BY arrival, row_in_file) AS winner_values,
  [CAST(price_cents AS VARCHAR), CAST(quantity AS VARCHAR)] AS row_values
FROM options_checked WHERE reason IS NULL;

-- An option applies to a line that arrived no later than the grace period after the option did;
-- any other is an orphan.
CREATE TABLE applied_options AS
SELECT o.order_id, o.lineitem_id, o.price_cents, o.quantity
FROM options_ranked o JOIN lines l USING (order_id, lineitem_id)
WHERE o.identity_position = 1 AND l.file_ms - o.file_ms <= ${graceMs};

CREATE TABLE row_outcomes AS
SELECT 'order_items' AS kind, arrival, row_in_file, file_path, order_id, lineitem_id, reason AS outcome
FROM items_checked WHERE reason IS NOT NULL
UNION ALL
SELECT 'order_items', arrival, row_in_file, file_path, order_id, lineitem_id,
  CASE WHEN identity_position = 1 THEN 'accepted' WHEN row_values IS NOT DISTINCT FROM winner_values THEN 'duplicate'
    ELSE 'conflicting_duplicate' END
FROM items_ranked
UNION ALL
SELECT 'order_item_options', arrival, row_in_file, file_path, order_id, lineitem_id, reason
FROM options_checked WHERE reason IS NOT NULL
UNION ALL
SELECT 'order_item_options', o.arrival, o.row_in_file, o.file_path, o.order_id, o.lineitem_id,
  CASE WHEN o.identity_position > 1 AND o.row_values IS NOT DISTINCT FROM o.winner_values THEN 'duplicate'
    WHEN o.identity_position > 1 THEN 'conflicting_duplicate'
    WHEN l.order_id IS NOT NULL AND l.file_ms - o.file_ms <= ${graceMs} THEN 'accepted'
    ELSE 'orphan_option' END
FROM options_ranked o LEFT JOIN lines l USING (order_id, lineitem_id)
UNION ALL
SELECT u.kind, u.arrival, NULL, f.path, NULL, NULL, 'malformed_row'
FROM unread_rows u JOIN input_files f USING (arrival) WHERE u.kind IN ('order_items', 'order_item_options');

-- Reference data: a later row (arrival, then file order) supersedes an earlier one.
CREATE TABLE location_zones AS
SELECT restaurant_id, clean(zone_text) AS time_zone
FROM raw_locations
WHERE NOT blank(restaurant_id) AND clean(zone_text) IN (SELECT name FROM pg_timezone_names())
QUALIFY row_number() OVER (PARTITION BY restaurant_id ORDER BY arrival DESC, row_in_file DESC) = 1;

CREATE TABLE holidays AS
SELECT calendar_date, CASE WHEN blank(holiday_name) THEN NULL ELSE clean(holiday_name) END AS holiday_name
FROM (
  SELECT day_month_year_of(date_key) AS calendar_date, boolean_of(holiday_text) AS is_holiday, holiday_name
  FROM raw_calendar WHERE day_month_year_of(date_key) IS NOT NULL AND boolean_of(holiday_text) IS NOT NULL
  QUALIFY row_number() OVER (PARTITION BY calendar_date ORDER BY arrival DESC, row_in_file DESC) = 1
) WHERE is_holiday;

-- Line revenue = price × quantity + Σ option price × quantity; gross leaves out negative options.
CREATE TABLE line_figures AS
SELECT l.*,
  CAST(l.unit_price_cents * l.quantity AS HUGEINT) + coalesce(o.option_cents, 0) AS net_cents,
  CAST(l.unit_price_cents * l.quantity AS HUGEINT) + coalesce(o.positive_cents, 0) AS gross_cents,
  coalesce(o.discounted, false) AS discounted
FROM lines l LEFT JOIN (
  SELECT order_id, lineitem_id,
    sum(CAST(price_cents AS HUGEINT) * quantity) AS option_cents,
    coalesce(sum(CAST(price_cents AS HUGEINT) * quantity) FILTER (WHERE price_cents > 0), 0) AS positive_cents,
    bool_or(price_cents < 0) AS discounted
  FROM applied_options GROUP BY ALL
) o USING (order_id, lineitem_id);

-- The order's instant is its earliest line; location and customer come from that line (ties: first
-- file, then first row).
CREATE TABLE orders AS
WITH first_lines AS (
  SELECT order_id, restaurant_id, customer_id, created_ms
  FROM lines
  QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY created_ms, arrival, row_in_file) = 1
), totals AS (
  SELECT order_id, bool_or(is_loyalty) AS is_loyalty, sum(quantity) AS items, sum(net_cents) AS net_cents,
    sum(gross_cents) AS gross_cents, bool_or(discounted) AS discounted
  FROM line_figures GROUP BY order_id
), placed AS (
  SELECT f.*, t.is_loyalty, t.items, t.net_cents, t.gross_cents, t.discounted,
    timezone(coalesce(z.time_zone, ${defaultZone}), CAST(epoch_ms(f.created_ms) AS TIMESTAMPTZ)) AS local_time
  FROM first_lines f JOIN totals t USING (order_id) LEFT JOIN location_zones z USING (restaurant_id)
)
SELECT order_id, restaurant_id AS location_id, customer_id, created_ms, is_loyalty, items, net_cents, gross_cents,
  gross_cents - net_cents AS discount_cents, discounted,
  CAST(local_time AS DATE) AS local_date, hour(local_time) AS local_hour
FROM placed;

-- Category lines per order: an order counts once in each category it contains.
CREATE TABLE order_categories AS
SELECT order_id, category, sum(net_cents) AS net_cents, sum(quantity) AS items
FROM line_figures GROUP BY order_id, category;
`;
}
