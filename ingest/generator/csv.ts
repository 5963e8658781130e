/** RFC 4180 encoding of the generated exports' fields. */

const NEEDS_QUOTES = /[",\r\n]/;

/** A field as RFC 4180 writes it: quoted (with `"` doubled) only when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A record of fields, encoded and joined (no line terminator). */
export function csvRecord(fields: readonly string[]): string {
  return fields.map(csvField).join(',');
}

/** Cents as a decimal with exactly two places: `1234` → `12.34`, `-50` → `-0.50`. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const magnitude = Math.abs(cents);
  const fraction = magnitude % 100;
  return `${sign}${(magnitude - fraction) / 100}.${fraction < 10 ? '0' : ''}${fraction}`;
}
