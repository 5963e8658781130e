/**
 * The generation run: day by day, location by location, orders are drawn from the population and
 * the menu, rendered as the chain's export rows, dirtied as the profile asks, and streamed to files.
 * All randomness comes from streams forked off the seed, so the bytes depend only on the options.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { addDays, dayNumber, offsetMinutes } from '../../aggregates/time.js';
import { DATE_DIM_HEADER, dateDimRows, usFederalHolidays, weekdayIndex } from './calendar.js';
import { csvField, csvRecord, formatCents } from './csv.js';
import { GeneratorError } from './errors.js';
import { encodedText, type MenuCategory, type MenuItem, menu, promotions } from './menu.js';
import { type Customer, createLocations, type Location, Population } from './population.js';
import { type GeneratorProfile, MessyKind } from './profile.js';
import { Random, type WeightedTable, weightedTable } from './random.js';
import { CsvSink, type SinkFormat } from './sink.js';

export const ORDER_ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';
export const ORDER_ITEM_OPTIONS_HEADER =
  'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';
export const LOCATIONS_HEADER = 'RESTAURANT_ID,NAME,TIMEZONE';

/** How the order rows are split into files. */
export const FilesPer = {
  /** `YYYY-MM-DD/order_items.csv` and `YYYY-MM-DD/order_item_options.csv` per export day. */
  Day: 'day',
  /** `YYYY-MM-DD/<RESTAURANT_ID>/order_items.csv` … per location and day. */
  LocationDay: 'location-day',
  /** One `order_items.csv` and one `order_item_options.csv` for the whole run. */
  Single: 'single',
} as const;
export type FilesPer = (typeof FilesPer)[keyof typeof FilesPer];

/** Where a run is, reported after each day. */
export interface GeneratorProgress {
  readonly day: number;
  readonly days: number;
  readonly date: string;
  readonly orderItemRows: number;
}

export interface EngineOptions {
  readonly outDir: string;
  readonly locations: number;
  readonly days: number;
  readonly seed: number;
  readonly startDate: string;
  readonly ordersPerLocationDay: number;
  readonly profile: GeneratorProfile;
  readonly filesPer: FilesPer;
  readonly onProgress?: (progress: GeneratorProgress) => void;
}

/** What a run wrote. */
export interface GeneratorSummary {
  readonly outDir: string;
  readonly profile: string;
  readonly seed: number;
  readonly startDate: string;
  readonly endDate: string;
  readonly days: number;
  readonly locations: number;
  /** Paths relative to `outDir`, in the order they were written. */
  readonly files: readonly string[];
  readonly bytes: number;
  /** Records per file kind (after the header), messy rows included. */
  readonly rows: {
    readonly orderItems: number;
    readonly orderItemOptions: number;
    readonly dateDim: number;
    readonly locations: number;
  };
  /** Genuine orders (test-app copies excluded) and their make-up. */
  readonly orders: number;
  readonly lineItems: number;
  readonly options: number;
  readonly guestOrders: number;
  readonly loyaltyOrders: number;
  readonly discountedOrders: number;
  /** Distinct USER_IDs that ordered, and those of them with a loyalty order. */
  readonly customers: number;
  readonly loyaltyMembers: number;
  /** Messy rows written, by kind (rows added, changed or moved). */
  readonly messyRows: Readonly<Record<MessyKind, number>>;
  readonly messyRowTotal: number;
  readonly elapsedMs: number;
}

interface OptionRow {
  readonly groupField: string;
  readonly nameField: string;
  readonly priceCents: number;
  readonly quantity: number;
}

interface Line {
  readonly lineItemId: string;
  readonly category: MenuCategory;
  readonly item: MenuItem;
  readonly quantity: number;
  readonly options: OptionRow[];
}

interface Order {
  readonly createdAtMs: number;
  readonly orderId: string;
  readonly appField: string;
  readonly userId: string;
  readonly cardNumber: string;
  readonly loyalty: boolean;
  readonly withoutMillis: boolean;
  readonly lines: Line[];
  discounted: boolean;
}

/** The records of one location-day being rendered; `later…` go at the end of the same file. */
interface LocationDayRows {
  readonly items: string[];
  readonly options: string[];
  readonly laterItems: string[];
  readonly laterOptions: string[];
}

/** Rows a location holds back for its next day's files (late options, re-exported duplicates). */
interface Carry {
  items: string[];
  options: string[];
}

const MS_PER_DAY = 86_400_000;
const OUTLIER_QUANTITY = 500;
const OUTLIER_PRICE_CENTS = 500_000;
const CURRENCY = 'USD';

/** Local wall-clock milliseconds (as if UTC) to the UTC instant in `timeZone`; DST-correct via Intl offsets. */
export function wallClockToUtc(wallMs: number, timeZone: string): number {
  const guess = wallMs - offsetMinutes(wallMs, timeZone) * 60_000;
  return wallMs - offsetMinutes(guess, timeZone) * 60_000;
}

function emptyMessyCounts(): Record<MessyKind, number> {
  const counts = {} as Record<MessyKind, number>;
  for (const kind of Object.values(MessyKind)) counts[kind] = 0;
  return counts;
}

function slug(text: string): string {
  return text.toLowerCase().replaceAll(/[^a-z0-9]+/g, '-');
}

async function ensureEmptyDir(outDir: string): Promise<void> {
  const entries = await readdir(outDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0) {
    throw new GeneratorError(
      `output folder ${outDir} is not empty (${entries.length} entries); choose an empty one`,
    );
  }
}

/** Runs a generation; the public door is `generateChain` in index.ts. */
export async function runGeneration(options: EngineOptions): Promise<GeneratorSummary> {
  const started = performance.now();
  const { outDir, days, profile, startDate, filesPer } = options;
  await ensureEmptyDir(outDir);

  const root = Random.fromSeed(options.seed);
  const locationRandom = root.fork();
  const customerRandom = root.fork();
  const salesRandom = root.fork();
  const messRandom = root.fork();
  const fileRandom = root.fork();

  const locations = createLocations(
    locationRandom,
    options.locations,
    options.ordersPerLocationDay,
    days,
    profile,
  );

  const messy = profile.messy;
  const messyCounts = emptyMessyCounts();

  const hours = weightedTable(profile.hourWeights.map((weight, hour) => [hour, weight] as const));
  const channels = weightedTable(
    Object.entries(profile.channels).map(([name, w]) => [csvField(name), w] as const),
  );
  const testApps = profile.testAppNames.map(csvField);
  const quantities = weightedTable(
    profile.quantityWeights.map((weight, index) => [index + 1, weight] as const),
  );
  const optionCounts = weightedTable(
    profile.optionsPerLineWeights.map((weight, count) => [count, weight] as const),
  );
  const categories = weightedTable(menu.map((category) => [category, category.weight] as const));
  const breakfastCategories = weightedTable(
    menu.map((category) => [category, category.breakfastWeight] as const),
  );
  const itemsByCategory = new Map<MenuCategory, WeightedTable<MenuItem>>(
    menu.map((category) => [
      category,
      weightedTable(category.items.map((item) => [item, item.weight] as const)),
    ]),
  );
  const extraLineChance = (profile.meanLinesPerOrder - 1) / profile.meanLinesPerOrder;
  const weekdayMean = profile.weekdayFactors.reduce((sum, factor) => sum + factor, 0) / 7;
  const holidaysByYear = new Map<number, ReadonlyMap<string, string>>();
  const holidayFactor = (date: string): number => {
    const year = Number(date.slice(0, 4));
    let holidays = holidaysByYear.get(year);
    if (holidays === undefined) {
      holidays = usFederalHolidays(year);
      holidaysByYear.set(year, holidays);
    }
    const name = holidays.get(date);
    if (name === undefined || name.endsWith(' Observed')) return 1;
    return profile.holidayFactors[name] ?? 1;
  };
  const demand = new Float64Array(days);
  for (let day = 0; day < days; day++) {
    const date = addDays(startDate, day);
    demand[day] =
      ((profile.weekdayFactors[weekdayIndex(date)] ?? 1) / weekdayMean) *
      (1 +
        profile.seasonalAmplitude *
          Math.cos((2 * Math.PI * (dayNumber(date) - dayNumber(`${date.slice(0, 4)}-07-24`))) / 365.25)) *
      holidayFactor(date);
  }
  const population = new Population(customerRandom, locations, days, profile, demand);

  const files: string[] = [];
  let bytes = 0;
  const rows = { orderItems: 0, orderItemOptions: 0, dateDim: 0, locations: 0 };
  const totals = {
    orders: 0,
    lineItems: 0,
    options: 0,
    guestOrders: 0,
    loyaltyOrders: 0,
    discountedOrders: 0,
    customers: 0,
    loyaltyMembers: 0,
  };

  const fileFormat = (): SinkFormat => ({
    eol: fileRandom.chance(messy.crlfFile) ? '\r\n' : '\n',
    bom: fileRandom.chance(messy.bomFile),
  });
  const openSink = async (relativePath: string, header: string): Promise<CsvSink> => {
    files.push(relativePath);
    return CsvSink.open(join(outDir, relativePath), header, fileFormat());
  };
  // Finished files close in the background (a few at a time) while the next ones are generated.
  const closing = new Set<Promise<void>>();
  const closeSink = async (sink: CsvSink, kind: 'orderItems' | 'orderItemOptions'): Promise<void> => {
    rows[kind] += sink.records;
    const closed = sink.close().then((size) => {
      bytes += size;
      closing.delete(closed);
    });
    closing.add(closed);
    if (closing.size >= 8) await Promise.race(closing);
  };

  // Reference files first: the ingest reads zones and holidays before any order.
  const locationsSink = await openSink('locations.csv', LOCATIONS_HEADER);
  await locationsSink.write(
    locations.map((location) => csvRecord([location.restaurantId, location.name, location.timeZone])),
  );
  rows.locations = locationsSink.records;
  bytes += await locationsSink.close();
  const endDate = addDays(startDate, days - 1);
  const dateDimSink = await openSink('date_dim.csv', DATE_DIM_HEADER);
  await dateDimSink.write(dateDimRows(Number(startDate.slice(0, 4)), Number(endDate.slice(0, 4))));
  rows.dateDim = dateDimSink.records;
  bytes += await dateDimSink.close();

  const drawLine = (breakfast: boolean): Line => {
    const category = salesRandom.weighted(breakfast ? breakfastCategories : categories);
    const item = salesRandom.weighted(itemsByCategory.get(category) as WeightedTable<MenuItem>);
    const quantity = salesRandom.weighted(quantities);
    const groups = category.optionGroups;
    const optionCount = Math.min(salesRandom.weighted(optionCounts), groups.length);
    const lineOptions: OptionRow[] = [];
    const firstGroup = optionCount > 0 ? salesRandom.int(0, groups.length - 1) : 0;
    for (let index = 0; index < optionCount; index++) {
      const group = groups[(firstGroup + index) % groups.length];
      if (group === undefined) continue;
      const option = salesRandom.pick(group.options);
      lineOptions.push({
        groupField: encodedText(group.name),
        nameField: encodedText(option.name),
        priceCents: option.priceCents,
        quantity: salesRandom.chance(0.08) ? 2 : 1,
      });
    }
    return { lineItemId: salesRandom.uuid(), category, item, quantity, options: lineOptions };
  };

  const drawOrder = (
    location: Location,
    day: number,
    createdAtMs: number,
    hour: number,
    customer: Customer | null,
  ): Order => {
    const breakfast = hour >= 5 && hour <= 10;
    const lines: Line[] = [drawLine(breakfast)];
    while (lines.length < profile.maxLinesPerOrder && salesRandom.chance(extraLineChance)) {
      lines.push(drawLine(breakfast));
    }
    let loyalty: boolean;
    let cardNumber = '';
    let userId = '';
    if (customer === null) {
      loyalty = salesRandom.chance(profile.guestLoyaltyShare);
      if (loyalty) cardNumber = population.guestCard();
    } else {
      userId = customer.userId;
      loyalty = day >= customer.memberFromDay;
      if (loyalty) cardNumber = customer.cardNumber;
      if (!customer.seen) {
        customer.seen = true;
        totals.customers++;
      }
      if (loyalty && !customer.memberSeen) {
        customer.memberSeen = true;
        totals.loyaltyMembers++;
      }
    }
    const order: Order = {
      createdAtMs,
      orderId: salesRandom.uuid(),
      appField: salesRandom.weighted(channels),
      userId,
      cardNumber,
      loyalty,
      withoutMillis: salesRandom.chance(profile.timestampWithoutMillisShare),
      lines,
      discounted: false,
    };
    if (location.promotionStartDay !== null && day >= location.promotionStartDay) {
      if (salesRandom.chance(profile.discountedOrderShare)) {
        let target = lines[0] as Line;
        for (const line of lines) {
          if (line.item.priceCents * line.quantity > target.item.priceCents * target.quantity) target = line;
        }
        const promotion = salesRandom.pick(promotions);
        const lineCents = target.item.priceCents * target.quantity;
        const offCents =
          promotion.percentOff > 0
            ? Math.round(lineCents * promotion.percentOff)
            : Math.min(promotion.fixedCents, lineCents);
        if (offCents > 0) {
          target.options.push({
            groupField: encodedText(promotion.groupName),
            nameField: encodedText(promotion.optionName),
            priceCents: -offCents,
            quantity: 1,
          });
          order.discounted = true;
        }
      }
    }
    return order;
  };

  const timestampOf = (order: Order): string => {
    const iso = new Date(order.createdAtMs).toISOString();
    return order.withoutMillis ? `${iso.slice(0, 19)}Z` : iso;
  };

  /** A malformed extra line row in `order`: one of four faults, each a quarantine reason. */
  const malformedRow = (prefixFields: readonly string[], order: Order): string => {
    const [app, restaurantId, timestamp, orderId, userId, card, loyal] = prefixFields;
    const lineItemId = messRandom.uuid();
    const fields = [
      app,
      restaurantId,
      timestamp,
      orderId,
      userId,
      card,
      loyal,
      CURRENCY,
      lineItemId,
      'Sides',
      'Fries',
    ];
    const date = new Date(order.createdAtMs).toISOString();
    switch (messRandom.int(0, 3)) {
      case 0:
        // Wrong field count: the quantity column is missing.
        return [...fields, '3.49'].join(',');
      case 1:
        return [...fields, messRandom.pick(['N/A', '3.4O', '"3,49"']), '1'].join(',');
      case 2:
        fields[2] = messRandom.chance(0.5)
          ? date.slice(0, 10)
          : `${date.slice(8, 10)}/${date.slice(5, 7)}/${date.slice(0, 4)} 25:61`;
        return [...fields, '3.49', '1'].join(',');
      default:
        if (messRandom.chance(0.5)) fields[7] = '';
        else fields[10] = '';
        return [...fields, '3.49', '1'].join(',');
    }
  };

  const categoryField = (category: MenuCategory): string => {
    if (!messRandom.chance(messy.urlCategory)) return encodedText(category.name);
    messyCounts[MessyKind.UrlCategory]++;
    return messRandom.chance(0.5)
      ? encodedText(`https://order.tillstream.example/menu/${slug(category.name)}`)
      : encodedText(`${category.name} (https://order.tillstream.example/c/${slug(category.name)}?ref=app)`);
  };

  const nameField = (item: MenuItem): string => {
    if (!messRandom.chance(messy.trickyName)) return encodedText(item.name);
    messyCounts[MessyKind.TrickyName]++;
    switch (messRandom.int(0, 2)) {
      case 0:
        return csvField(`${item.name}, no pickles`);
      case 1:
        return csvField(`${item.name} "Chef's Special"`);
      default:
        return csvField(`${item.name}\nNote: allergy, see ticket`);
    }
  };

  /** Adds a record, and the copies the profile's duplicate rates ask for. */
  const pushRow = (target: string[], later: string[], nextDay: string[] | undefined, row: string): void => {
    target.push(row);
    if (messRandom.chance(messy.duplicateSameFile)) {
      later.push(row);
      messyCounts[MessyKind.DuplicateSameFile]++;
    }
    if (nextDay !== undefined && messRandom.chance(messy.duplicateNextDay)) {
      nextDay.push(row);
      messyCounts[MessyKind.DuplicateNextDay]++;
    }
  };

  /** Renders an order into item and option records of its location-day, dirtied per the profile. */
  const renderOrder = (
    restaurantId: string,
    order: Order,
    out: LocationDayRows,
    carryOut: Carry | null,
  ): void => {
    const { items, options, laterItems, laterOptions } = out;
    {
      const timestamp = timestampOf(order);
      const loyal = order.loyalty ? 'TRUE' : 'FALSE';
      const prefix = `${order.appField},${restaurantId},${timestamp},${order.orderId},${order.userId},${order.cardNumber},${loyal},${CURRENCY},`;
      for (const line of order.lines) {
        let priceCents = line.item.priceCents;
        let quantity = line.quantity;
        if (messRandom.chance(messy.outlier)) {
          messyCounts[MessyKind.Outlier]++;
          if (messRandom.chance(0.5)) quantity = OUTLIER_QUANTITY;
          else priceCents = OUTLIER_PRICE_CENTS;
        }
        const row = `${prefix}${line.lineItemId},${categoryField(line.category)},${nameField(line.item)},${formatCents(priceCents)},${quantity}`;
        pushRow(items, laterItems, carryOut?.items, row);
        for (const option of line.options) {
          const optionRow = `${order.orderId},${line.lineItemId},${option.groupField},${option.nameField},${formatCents(option.priceCents)},${option.quantity}`;
          if (carryOut !== null && messRandom.chance(messy.lateOption)) {
            carryOut.options.push(optionRow);
            messyCounts[MessyKind.LateOption]++;
          } else {
            pushRow(options, laterOptions, carryOut?.options, optionRow);
          }
          if (messRandom.chance(messy.orphanOption)) {
            options.push(
              `${order.orderId},${messRandom.uuid()},${option.groupField},${option.nameField},${formatCents(option.priceCents)},${option.quantity}`,
            );
            messyCounts[MessyKind.OrphanOption]++;
          }
        }
      }
      if (messRandom.chance(messy.malformedRow)) {
        items.push(
          malformedRow(
            [order.appField, restaurantId, timestamp, order.orderId, order.userId, order.cardNumber, loyal],
            order,
          ),
        );
        messyCounts[MessyKind.MalformedRow]++;
      }
      if (messRandom.chance(messy.testAppOrder)) {
        const testPrefix = `${messRandom.pick(testApps)},${restaurantId},${timestamp},${messRandom.uuid()},${order.userId},${order.cardNumber},${loyal},${CURRENCY},`;
        for (const line of order.lines) {
          items.push(
            `${testPrefix}${messRandom.uuid()},${encodedText(line.category.name)},${encodedText(line.item.name)},${formatCents(line.item.priceCents)},${line.quantity}`,
          );
          messyCounts[MessyKind.TestApp]++;
        }
      }
    }
  };

  const carries: Carry[] = locations.map(() => ({ items: [], options: [] }));
  let singleItems: CsvSink | null = null;
  let singleOptions: CsvSink | null = null;
  if (filesPer === FilesPer.Single) {
    singleItems = await openSink('order_items.csv', ORDER_ITEMS_HEADER);
    singleOptions = await openSink('order_item_options.csv', ORDER_ITEM_OPTIONS_HEADER);
  }
  let orderItemRowsSoFar = 0;

  for (let day = 0; day < days; day++) {
    const date = addDays(startDate, day);
    const lastDay = day === days - 1;
    const dayFactor = demand[day] ?? 1;
    const dueByLocation = population.dueOn(day, dayFactor);
    let dayItems: CsvSink | null = null;
    let dayOptions: CsvSink | null = null;
    if (filesPer === FilesPer.Day) {
      dayItems = await openSink(`${date}/order_items.csv`, ORDER_ITEMS_HEADER);
      dayOptions = await openSink(`${date}/order_item_options.csv`, ORDER_ITEM_OPTIONS_HEADER);
    }
    for (const [index, location] of locations.entries()) {
      const noise = 1 + profile.dailyNoise * (2 * salesRandom.float() - 1);
      const target = salesRandom.roundStochastic(location.baseOrdersPerDay * dayFactor * noise);
      const due = dueByLocation[index] ?? [];
      // Guests are a share of all orders, even on a day when returning customers exceed the target.
      const customerOrders = Math.max(due.length, Math.round(target * (1 - profile.guestOrderShare)));
      const oneTime = customerOrders - due.length;
      const guests = salesRandom.roundStochastic(
        (customerOrders * profile.guestOrderShare) / (1 - profile.guestOrderShare),
      );
      const orderCount = guests + due.length + oneTime;
      // Who orders is shuffled over the day's sorted order times: −1 a guest, −2 a one-time customer,
      // i ≥ 0 the i-th returning customer due.
      const who = new Int32Array(orderCount);
      for (let slot = 0; slot < orderCount; slot++) {
        who[slot] = slot < guests ? -1 : slot < guests + due.length ? slot - guests : -2;
      }
      for (let slot = orderCount - 1; slot > 0; slot--) {
        const other = salesRandom.int(0, slot);
        const kept = who[slot] as number;
        who[slot] = who[other] as number;
        who[other] = kept;
      }
      const wallOffsets = new Float64Array(orderCount);
      for (let slot = 0; slot < orderCount; slot++) {
        wallOffsets[slot] = salesRandom.weighted(hours) * 3_600_000 + salesRandom.int(0, 3_599_999);
      }
      wallOffsets.sort();
      const dayWallMs = dayNumber(date) * MS_PER_DAY;
      const offsetAtStart = offsetMinutes(
        dayWallMs - offsetMinutes(dayWallMs, location.timeZone) * 60_000,
        location.timeZone,
      );
      const dayEndWallMs = dayWallMs + MS_PER_DAY - 1;
      const offsetAtEnd = offsetMinutes(dayEndWallMs - offsetAtStart * 60_000, location.timeZone);
      // One offset for the whole day unless the zone changes offset that day (DST).
      const fixedOffsetMs = offsetAtStart === offsetAtEnd ? offsetAtStart * 60_000 : null;
      const carryIn = carries[index] as Carry;
      const carryOut: Carry | null = lastDay ? null : { items: [], options: [] };
      carries[index] = carryOut ?? { items: [], options: [] };
      const rendered: LocationDayRows = {
        items: carryIn.items,
        options: carryIn.options,
        laterItems: [],
        laterOptions: [],
      };
      for (let slot = 0; slot < orderCount; slot++) {
        const wallMs = dayWallMs + (wallOffsets[slot] as number);
        const createdAtMs =
          fixedOffsetMs === null ? wallClockToUtc(wallMs, location.timeZone) : wallMs - fixedOffsetMs;
        const hour = Math.floor((wallOffsets[slot] as number) / 3_600_000);
        const code = who[slot] as number;
        const customer =
          code === -1 ? null : code === -2 ? population.oneTimeCustomer(day) : (due[code] as Customer);
        const order = drawOrder(location, day, createdAtMs, hour, customer);
        totals.orders++;
        totals.lineItems += order.lines.length;
        for (const line of order.lines) totals.options += line.options.length;
        if (order.userId === '') totals.guestOrders++;
        if (order.loyalty) totals.loyaltyOrders++;
        if (order.discounted) totals.discountedOrders++;
        renderOrder(location.restaurantId, order, rendered, carryOut);
      }
      for (const row of rendered.laterItems) rendered.items.push(row);
      for (const row of rendered.laterOptions) rendered.options.push(row);
      if (filesPer === FilesPer.LocationDay) {
        const itemsSink = await openSink(
          `${date}/${location.restaurantId}/order_items.csv`,
          ORDER_ITEMS_HEADER,
        );
        await itemsSink.write(rendered.items);
        await closeSink(itemsSink, 'orderItems');
        const optionsSink = await openSink(
          `${date}/${location.restaurantId}/order_item_options.csv`,
          ORDER_ITEM_OPTIONS_HEADER,
        );
        await optionsSink.write(rendered.options);
        await closeSink(optionsSink, 'orderItemOptions');
      } else {
        await (dayItems ?? singleItems)?.write(rendered.items);
        await (dayOptions ?? singleOptions)?.write(rendered.options);
      }
      orderItemRowsSoFar += rendered.items.length;
    }
    if (dayItems !== null) await closeSink(dayItems, 'orderItems');
    if (dayOptions !== null) await closeSink(dayOptions, 'orderItemOptions');
    options.onProgress?.({ day: day + 1, days, date, orderItemRows: orderItemRowsSoFar });
  }
  if (singleItems !== null) await closeSink(singleItems, 'orderItems');
  if (singleOptions !== null) await closeSink(singleOptions, 'orderItemOptions');

  await Promise.all(closing);
  const messyRowTotal = Object.values(messyCounts).reduce((sum, count) => sum + count, 0);
  return {
    outDir,
    profile: profile.name,
    seed: options.seed,
    startDate,
    endDate,
    days,
    locations: locations.length,
    files,
    bytes,
    rows,
    ...totals,
    messyRows: messyCounts,
    messyRowTotal,
    elapsedMs: Math.round(performance.now() - started),
  };
}
