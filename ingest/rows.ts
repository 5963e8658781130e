/**
 * A validated record written back as a CSV row in its file's column order: the quarantine text of
 * rows the parser accepted but the ledger refused (conflicting duplicates) or time set aside
 * (orphan options). The values are the normalised ones, so `requeue` re-validates them unchanged.
 */
import { joinCsvRecord } from '../shared/input/csv.js';
import { normaliseColumnName } from '../shared/input/header.js';
import type { LineItem, LineOption } from '../shared/schemas/input.js';

/** Cents as a decimal with two places, from integers only. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const magnitude = Math.abs(cents);
  return `${sign}${Math.trunc(magnitude / 100)}.${String(magnitude % 100).padStart(2, '0')}`;
}

function lineValue(column: string, line: LineItem): string {
  switch (column) {
    case 'APP_NAME':
      return line.appName;
    case 'RESTAURANT_ID':
      return line.restaurantId;
    case 'CREATION_TIME_UTC':
      return new Date(line.createdAtMs).toISOString();
    case 'ORDER_ID':
      return line.orderId;
    case 'USER_ID':
      return line.userId ?? '';
    case 'PRINTED_CARD_NUMBER':
      return line.printedCardNumber ?? '';
    case 'IS_LOYALTY':
      return line.isLoyalty ? 'TRUE' : 'FALSE';
    case 'CURRENCY':
      return line.currency;
    case 'LINEITEM_ID':
      return line.lineItemId;
    case 'ITEM_CATEGORY':
      return line.category;
    case 'ITEM_NAME':
      return line.itemName;
    case 'ITEM_PRICE':
      return formatCents(line.unitPriceCents);
    case 'ITEM_QUANTITY':
      return String(line.quantity);
    default:
      return '';
  }
}

function optionValue(column: string, option: LineOption): string {
  switch (column) {
    case 'ORDER_ID':
      return option.orderId;
    case 'LINEITEM_ID':
      return option.lineItemId;
    case 'OPTION_GROUP_NAME':
      return option.groupName;
    case 'OPTION_NAME':
      return option.optionName;
    case 'OPTION_PRICE':
      return formatCents(option.priceCents);
    case 'OPTION_QUANTITY':
      return String(option.quantity);
    default:
      return '';
  }
}

/** The line as a CSV record under `columns` (the file's header); unknown columns are empty. */
export function lineRow(columns: readonly string[], line: LineItem): string {
  return joinCsvRecord(columns.map((column) => lineValue(normaliseColumnName(column), line)));
}

export function optionRow(columns: readonly string[], option: LineOption): string {
  return joinCsvRecord(columns.map((column) => optionValue(normaliseColumnName(column), option)));
}
