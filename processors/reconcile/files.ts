/**
 * The input folder as the recomputation sees it: every file under it in arrival order (modified
 * time, then path compared as UTF-8 bytes, CONTRACT.md §1), each recognised by its header.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ReconcileError } from './errors.js';

export const InputKind = {
  OrderItems: 'order_items',
  OrderItemOptions: 'order_item_options',
  DateDim: 'date_dim',
  Locations: 'locations',
} as const;
export type InputKind = (typeof InputKind)[keyof typeof InputKind];

/** The columns each kind must have (matched trimmed and case-insensitively), in the contract's spelling. */
export const kindColumns = {
  [InputKind.OrderItems]: [
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
  [InputKind.OrderItemOptions]: [
    'ORDER_ID',
    'LINEITEM_ID',
    'OPTION_GROUP_NAME',
    'OPTION_NAME',
    'OPTION_PRICE',
    'OPTION_QUANTITY',
  ],
  [InputKind.DateDim]: ['DATE_KEY', 'IS_HOLIDAY', 'HOLIDAY_NAME'],
  [InputKind.Locations]: ['RESTAURANT_ID', 'NAME', 'TIMEZONE'],
} as const satisfies Record<InputKind, readonly string[]>;

/** Columns a kind may lack: a calendar without `holiday_name` names no holidays. */
const optionalColumns: ReadonlySet<string> = new Set(['HOLIDAY_NAME']);

/** One file of the input folder. */
export interface InputFile {
  /** Path relative to the folder, `/`-separated. */
  readonly path: string;
  readonly absolutePath: string;
  /** Modified time, epoch ms (whole milliseconds): the file's arrival instant. */
  readonly modifiedMs: number;
  /** 0-based position in arrival order. */
  readonly arrival: number;
}

/**
 * Every file under `inputDir` (recursively; hidden files and folders are skipped), in arrival order.
 *
 * @example
 * const files = await listInputFiles('/data/exports'); // [{ path: '2023-03-08/order_items.csv', arrival: 0, … }, …]
 */
export async function listInputFiles(inputDir: string): Promise<InputFile[]> {
  const root = path.resolve(inputDir);
  let entries: string[];
  try {
    entries = await readdir(root, { recursive: true });
  } catch (error) {
    throw new ReconcileError(`cannot list the input folder: ${(error as Error).message}`, root, {
      cause: error,
    });
  }
  const found: Omit<InputFile, 'arrival'>[] = [];
  for (const entry of entries) {
    const relative = entry.split(path.sep).join('/');
    if (relative.split('/').some((segment) => segment.startsWith('.'))) continue;
    const absolutePath = path.join(root, entry);
    const info = await stat(absolutePath);
    if (!info.isFile()) continue;
    found.push({ path: relative, absolutePath, modifiedMs: Math.trunc(info.mtimeMs) });
  }
  found.sort(
    (left, right) =>
      left.modifiedMs - right.modifiedMs || Buffer.compare(Buffer.from(left.path), Buffer.from(right.path)),
  );
  return found.map((file, arrival) => ({ ...file, arrival }));
}

/** A header recognised as a kind: the position of each of the kind's columns (−1 when an optional one is absent). */
export interface RecognisedHeader {
  readonly kind: InputKind;
  readonly positions: Readonly<Record<string, number>>;
  readonly width: number;
}

/**
 * The kind whose every required column the header holds; order_items first, since its header also
 * holds the columns of locations (RESTAURANT_ID) and most of options'. Null for any other header.
 */
export function recogniseHeader(cells: readonly string[]): RecognisedHeader | null {
  const names = cells.map((cell) =>
    cell
      .replace(/^\uFEFF/, '')
      .trim()
      .toUpperCase(),
  );
  const kindsInPriority = [
    InputKind.OrderItems,
    InputKind.OrderItemOptions,
    InputKind.DateDim,
    InputKind.Locations,
  ] as const;
  for (const kind of kindsInPriority) {
    const columns: readonly string[] = kindColumns[kind];
    const positions: Record<string, number> = {};
    let complete = true;
    for (const column of columns) {
      // The first of duplicated columns is the one read.
      const position = names.indexOf(column);
      if (position < 0 && !optionalColumns.has(column)) complete = false;
      positions[column] = position;
    }
    if (complete) return { kind, positions, width: cells.length };
  }
  return null;
}
