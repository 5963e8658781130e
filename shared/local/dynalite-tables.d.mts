/**
 * Makes every dynalite store created afterwards in this thread cache the table definitions its
 * item requests read (see dynalite-tables.mjs). Idempotent.
 */
export function cacheTableDefinitions(): void;
