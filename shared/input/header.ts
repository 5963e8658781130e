/**
 * File kinds by header (CONTRACT.md §1: "a file is recognised by its header, not its name").
 * Column names match case-insensitively after trimming; extra columns are allowed; column order is
 * free.
 */
import { FileKind } from '../schemas/input.js';
import { splitCsvRecord } from './csv.js';

/** The columns each kind must have, in the contract's spelling. */
export const RequiredColumns = {
  [FileKind.OrderItems]: [
    'APP_NAME',
    'RESTAURANT_ID',
    'CREATION_TIME_UTC',
    'ORDER_ID',
    'USER_ID',
    'PRINTED_CARD_NUMBER',
    'IS_LOYALTY',
    'CURRENCY',
    'LINEITEM_ID',
    'ITEM_CATEGORY',
    'ITEM_NAME',
    'ITEM_PRICE',
    'ITEM_QUANTITY',
  ],
  [FileKind.OrderItemOptions]: [
    'ORDER_ID',
    'LINEITEM_ID',
    'OPTION_GROUP_NAME',
    'OPTION_NAME',
    'OPTION_PRICE',
    'OPTION_QUANTITY',
  ],
  [FileKind.DateDim]: ['DATE_KEY', 'IS_HOLIDAY'],
  [FileKind.Locations]: ['RESTAURANT_ID', 'NAME', 'TIMEZONE'],
} as const satisfies Record<FileKind, readonly string[]>;

/** Columns read when present: date_dim's `holiday_name` (a calendar without it names no holidays). */
const OptionalColumns: Readonly<Record<FileKind, readonly string[]>> = {
  [FileKind.OrderItems]: [],
  [FileKind.OrderItemOptions]: [],
  [FileKind.DateDim]: ['HOLIDAY_NAME'],
  [FileKind.Locations]: [],
};

/**
 * Columns that only one kind has: a header must hold at least one of its kind's to be recognised,
 * so that e.g. an order_items header (which has RESTAURANT_ID) is never taken for locations.
 */
const DistinctiveColumns: Readonly<Record<FileKind, readonly string[]>> = {
  [FileKind.OrderItems]: [
    'APP_NAME',
    'CREATION_TIME_UTC',
    'USER_ID',
    'PRINTED_CARD_NUMBER',
    'IS_LOYALTY',
    'CURRENCY',
    'ITEM_CATEGORY',
    'ITEM_NAME',
    'ITEM_PRICE',
    'ITEM_QUANTITY',
  ],
  [FileKind.OrderItemOptions]: ['OPTION_GROUP_NAME', 'OPTION_NAME', 'OPTION_PRICE', 'OPTION_QUANTITY'],
  [FileKind.DateDim]: ['DATE_KEY', 'IS_HOLIDAY', 'HOLIDAY_NAME'],
  [FileKind.Locations]: ['NAME', 'TIMEZONE'],
};

const kinds = Object.values(FileKind);

/** A header matched to a kind: the position of each column the validator reads (−1 when an optional one is absent). */
export interface ColumnLayout {
  readonly kind: FileKind;
  /** The header as written (trimmed, BOM removed). */
  readonly columns: readonly string[];
  /** Position of each required and optional column, by its upper-case name. */
  readonly index: Readonly<Record<string, number>>;
}

/** The outcome of reading a header. */
export type HeaderMatch =
  | { readonly ok: true; readonly layout: ColumnLayout }
  | { readonly ok: false; readonly kind: FileKind | null; readonly missing: readonly string[] };

/** A header cell as compared: trimmed, BOM removed, upper case. */
export function normaliseColumnName(cell: string): string {
  const withoutBom = cell.charCodeAt(0) === 0xfeff ? cell.slice(1) : cell;
  return withoutBom.trim().toUpperCase();
}

/**
 * The kind a header belongs to: the kind with a distinctive column present and the largest share of
 * its required columns present (at least half). When that kind lacks required columns, the match
 * fails naming them (`missing_column`); when no kind qualifies, it fails with `kind: null`
 * (`unknown_file_kind`).
 *
 * @example
 * matchHeader(['order_id', 'LineItem_Id', 'OPTION_GROUP_NAME', 'OPTION_NAME', 'OPTION_PRICE', 'OPTION_QUANTITY']);
 * // → { ok: true, layout: { kind: 'order_item_options', … } }
 */
export function matchHeader(cells: readonly string[]): HeaderMatch {
  const names = cells.map(normaliseColumnName);
  const present = new Set(names);
  let best: FileKind | null = null;
  let bestShare = 0;
  for (const kind of kinds) {
    if (!DistinctiveColumns[kind].some((column) => present.has(column))) continue;
    const required = RequiredColumns[kind];
    const share = required.filter((column) => present.has(column)).length / required.length;
    if (share >= 0.5 && share > bestShare) {
      best = kind;
      bestShare = share;
    }
  }
  if (best === null) return { ok: false, kind: null, missing: [] };
  const missing = RequiredColumns[best].filter((column) => !present.has(column));
  if (missing.length > 0) return { ok: false, kind: best, missing };
  const index: Record<string, number> = {};
  for (const column of [...RequiredColumns[best], ...OptionalColumns[best]]) {
    // The first of duplicated columns wins.
    index[column] = names.indexOf(column);
  }
  return {
    ok: true,
    layout: {
      kind: best,
      columns: cells.map((cell, position) => (position === 0 ? stripBom(cell) : cell).trim()),
      index,
    },
  };
}

function stripBom(cell: string): string {
  return cell.charCodeAt(0) === 0xfeff ? cell.slice(1) : cell;
}

/**
 * The export kind a file's first line names (BOM and CR ignored, at most 64 KiB read), or null.
 * Only a hint for ordering: reference files (locations, date_dim) are taken before orders.
 */
export function exportKindOfFirstLine(head: Buffer): string | null {
  const end = head.indexOf(0x0a);
  const firstLine = head
    .subarray(0, end === -1 ? Math.min(head.length, 65_536) : end)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .replace(/\r$/, '');
  try {
    const match = matchHeader(splitCsvRecord(firstLine));
    return match.ok ? match.layout.kind : null;
  } catch {
    return null;
  }
}
