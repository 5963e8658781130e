/**
 * How the dashboard writes figures: money in dollars from integer cents (exact, no floating
 * point), shares as percentages, counts with thousands separators. Pure, shared by every view.
 */

const GROUPING = /\B(?=(\d{3})+(?!\d))/g;

/** `123456` → `1,234.56`-style digits of a non-negative integer. */
function grouped(value: number | bigint): string {
  return value.toString().replace(GROUPING, ',');
}

/**
 * Integer cents as dollars: `-123456` → `-$1,234.56`; null (an empty average) → `—`.
 *
 * @example formatMoney(199) // "$1.99"
 */
export function formatMoney(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return '—';
  if (!Number.isSafeInteger(cents)) throw new RangeError(`money must be integer cents (given ${cents})`);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${grouped(Math.floor(abs / 100))}.${String(abs % 100).padStart(2, '0')}`;
}

/** A fraction in [0, 1] as a percentage with `decimals` places: `0.1234` → `12.3%`; null → `—`. */
export function formatShare(fraction: number | null | undefined, decimals = 1): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return '—';
  return `${(fraction * 100).toFixed(decimals)}%`;
}

/** A value already in percent (`spend_change_pct`): `-12.5` → `−12.50%`, with an explicit sign. */
export function formatPercent(percent: number | null | undefined, decimals = 2): string {
  if (percent === null || percent === undefined || Number.isNaN(percent)) return '—';
  const text = Math.abs(percent).toFixed(decimals);
  return `${percent < 0 ? '−' : percent > 0 ? '+' : ''}${text}%`;
}

/** A count: `12345` → `12,345`; null → `—`. */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return Number.isInteger(value) ? `${value < 0 ? '-' : ''}${grouped(Math.abs(value))}` : value.toFixed(2);
}

/** A non-money ratio with `decimals` places (orders per day): `3.14159` → `3.14`; null → `—`. */
export function formatRatio(value: number | null | undefined, decimals = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return value.toFixed(decimals);
}

/** Milliseconds as a short duration: `950` → `950 ms`, `65000` → `1 min 5 s`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Text safe inside HTML. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
