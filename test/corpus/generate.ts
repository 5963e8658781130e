/**
 * Generators for the corpus cases whose files are impractical to store: a file just over
 * `maxFileBytes` and fields of several MiB (or just over a length bound). Each writes its case's files into a folder; the corpus
 * test runs it into a temporary input folder next to the case's stored `files/`. Output is
 * deterministic, so `expected.json` can state exact counts.
 *
 * By hand: `npx tsx test/corpus/generate.ts <case> <dir>` (e.g. `file-too-large /tmp/big`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const ITEMS_HEADER =
  'APP_NAME,RESTAURANT_ID,CREATION_TIME_UTC,ORDER_ID,USER_ID,PRINTED_CARD_NUMBER,IS_LOYALTY,CURRENCY,LINEITEM_ID,ITEM_CATEGORY,ITEM_NAME,ITEM_PRICE,ITEM_QUANTITY';

export const OPTIONS_HEADER =
  'ORDER_ID,LINEITEM_ID,OPTION_GROUP_NAME,OPTION_NAME,OPTION_PRICE,OPTION_QUANTITY';

/** The `maxFileBytes` setting the `file-too-large` case runs with (its expected.json sets it too). */
export const CORPUS_MAX_FILE_BYTES = 65_536;

const MIB = 1024 * 1024;

/** One order_items row with fields already CSV-encoded. */
function itemRow(orderId: string, itemName = 'Cheeseburger', category = 'Burgers'): string {
  return `ChainApp,5f1a2b3c4d5e6f7a8b9c0d1e,2023-08-14T17:03:12.345Z,${orderId},U1,,TRUE,USD,L1,${category},${itemName},9.50,1`;
}

/**
 * An order_items file of exactly `sizeBytes` bytes: rows `G1`, `G2`, … and the last row's
 * ITEM_NAME padded to fill the size. Returns the file and its row count.
 */
export function itemsFileOfSize(sizeBytes: number): { bytes: Buffer; rows: number } {
  const lines = [ITEMS_HEADER];
  let length = ITEMS_HEADER.length + 1;
  let rows = 0;
  // Leave room for one more row with a padded name.
  while (length + 2 * (itemRow(`G${rows + 1}`).length + 1) <= sizeBytes) {
    rows++;
    const row = itemRow(`G${rows}`);
    lines.push(row);
    length += row.length + 1;
  }
  rows++;
  const last = itemRow(`G${rows}`, '');
  const padding = sizeBytes - length - last.length - 1;
  lines.push(itemRow(`G${rows}`, 'x'.repeat(padding)));
  const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  if (bytes.length !== sizeBytes) throw new Error(`generated ${bytes.length} bytes, wanted ${sizeBytes}`);
  return { bytes, rows };
}

/** A quoted CSV field of about `sizeBytes` bytes holding commas, doubled quotes and line breaks. */
function giantQuotedField(sizeBytes: number): string {
  const unit = 'Menu text, "quoted", line\r\nbreak; ';
  return `"${unit.repeat(Math.ceil(sizeBytes / unit.length)).replaceAll('"', '""')}"`;
}

/** Writes a case's generated files into `dir`. */
export const generators: Readonly<Record<string, (dir: string) => Promise<void>>> = {
  /** A file exactly at `maxFileBytes` (ingested) and one a byte over it (quarantined whole). */
  'file-too-large': async (dir) => {
    await writeFile(path.join(dir, 'a-at-limit.csv'), itemsFileOfSize(CORPUS_MAX_FILE_BYTES).bytes);
    await writeFile(path.join(dir, 'b-over-limit.csv'), itemsFileOfSize(CORPUS_MAX_FILE_BYTES + 1).bytes);
  },
  /**
   * order_items: a 4 MiB quoted ITEM_NAME (names are not streamed: kept), a 2 MiB ITEM_CATEGORY, a
   * 2 MiB unquoted RESTAURANT_ID, a category of exactly 1,000 characters (kept) and a USER_ID of
   * 257 (one over); order_item_options: a 2 MiB OPTION_NAME beside a normal option.
   */
  'giant-field': async (dir) => {
    const rows = [
      itemRow('O1'),
      itemRow('O2', giantQuotedField(4 * MIB)),
      itemRow('O3', 'Cheeseburger', giantQuotedField(2 * MIB)),
      itemRow('O4').replace('5f1a2b3c4d5e6f7a8b9c0d1e', 'R'.repeat(2 * MIB)),
      itemRow('O5', 'Cheeseburger', 'c'.repeat(1_000)),
      itemRow('O6').replace(',U1,', `,${'u'.repeat(257)},`),
      itemRow('O7'),
    ];
    await writeFile(path.join(dir, 'a-items.csv'), `${ITEMS_HEADER}\n${rows.join('\n')}\n`);
    const options = [`O1,L1,Size,${giantQuotedField(2 * MIB)},0.50,1`, 'O1,L1,Size,Large,0.50,1'];
    await writeFile(path.join(dir, 'b-options.csv'), `${OPTIONS_HEADER}\n${options.join('\n')}\n`);
  },
};

async function main(args: readonly string[]): Promise<number> {
  const [name, dir] = args;
  const generate = name === undefined ? undefined : generators[name];
  if (generate === undefined || dir === undefined) {
    console.error(`usage: generate.ts <${Object.keys(generators).join('|')}> <dir>`);
    return 2;
  }
  await mkdir(dir, { recursive: true });
  await generate(dir);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
