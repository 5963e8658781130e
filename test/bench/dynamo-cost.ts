/**
 * DynamoDB's billing arithmetic, for benchmarks that cannot get `ConsumedCapacity` from the
 * emulator (dynalite does not return it reliably). Sizes follow the DynamoDB developer guide,
 * "Item sizes and formats": an item's size is the sum, over its attributes, of the UTF-8 length
 * of the name plus the size of the value.
 */

/** Bytes of one write capacity unit: a write costs 1 WCU per started KB. */
export const WRITE_UNIT_BYTES = 1024;

const utf8 = new TextEncoder();

/**
 * Size of a number: 1 byte per two significant digits (leading and trailing zeros trimmed), plus
 * 1 byte, plus 1 for a negative sign. DynamoDB documents this as an approximation.
 */
function numberSize(value: number | bigint): number {
  const text = (typeof value === 'bigint' ? value : Math.abs(value)).toString().replace('-', '');
  if (text.includes('e')) throw new RangeError(`number ${value} is outside DynamoDB's plain-digit range`);
  const digits = text.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  const negative = typeof value === 'bigint' ? value < 0n : value < 0;
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1 + (negative ? 1 : 0);
}

/**
 * Size in bytes of one attribute value in document form (as `@aws-sdk/lib-dynamodb` reads and
 * writes it): strings by UTF-8 length, binary by length, numbers as above, booleans and null 1
 * byte, lists and maps 3 bytes plus 1 byte per element (plus the element names of a map), sets
 * the sum of their elements.
 *
 * @example
 * attributeValueSize('abc'); // 3
 */
export function attributeValueSize(value: unknown): number {
  if (typeof value === 'string') return utf8.encode(value).length;
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(value);
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (value instanceof Set) {
    let size = 0;
    for (const element of value) size += attributeValueSize(element);
    return size;
  }
  if (Array.isArray(value)) {
    return value.reduce<number>((size, element) => size + 1 + attributeValueSize(element), 3);
  }
  if (typeof value === 'object') {
    let size = 3;
    for (const [name, element] of Object.entries(value)) {
      if (element !== undefined) size += 1 + utf8.encode(name).length + attributeValueSize(element);
    }
    return size;
  }
  throw new TypeError(`not a DynamoDB attribute value: ${typeof value}`);
}

/**
 * Size in bytes of an item in document form, as DynamoDB bills it.
 *
 * @example
 * dynamoItemSize({ pk: 'L#1', sk: 'D#2023-08-14', o: 12 }); // 22
 */
export function dynamoItemSize(item: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value !== undefined) size += utf8.encode(name).length + attributeValueSize(value);
  }
  return size;
}

/**
 * Write capacity units of one PutItem or UpdateItem (a failed conditional write included): 1 WCU
 * per started KB of the larger of the item's size before and after the write, at least 1.
 *
 * @example
 * writeCapacityUnits(900, 1100); // 2
 */
export function writeCapacityUnits(bytesBefore: number, bytesAfter: number): number {
  return Math.max(1, Math.ceil(Math.max(bytesBefore, bytesAfter) / WRITE_UNIT_BYTES));
}
