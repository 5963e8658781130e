import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import Papa from 'papaparse';

/** Every file under `dir`, as paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** One digest of every file's path and bytes. */
export async function hashTree(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const path of await listFiles(dir)) {
    hash.update(path);
    hash.update(await readFile(join(dir, path)));
  }
  return hash.digest('hex');
}

/** A CSV file's header line and records, parsed as RFC 4180 (BOM removed). */
export async function readCsv(path: string): Promise<{ header: string; records: string[][] }> {
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  const parsed = Papa.parse<string[]>(text, { header: false, skipEmptyLines: true });
  const [header, ...records] = parsed.data;
  return { header: (header ?? []).join(','), records };
}
