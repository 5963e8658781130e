/**
 * The streaming export parser: bytes in, batches of validated entries out, in constant memory
 * (CONTRACT.md §1). RFC 4180 parsing is papaparse's `Parser`, fed decoded chunks; the part of a
 * chunk after its last complete record is carried into the next one, so records (quoted line breaks
 * included) and UTF-8 characters may straddle chunk boundaries.
 */
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';
import type { FileKind, RowOrigin } from '../schemas/input.js';
import { ReasonCode as Reason, type ReasonCode, type Rejection } from '../schemas/reasons.js';
import { joinCsvRecord } from './csv.js';
import { type ColumnLayout, matchHeader } from './header.js';
import {
  EntryKind,
  type FileSummary,
  type ParsedBatch,
  type ParsedEntry,
  type ValidationSettings,
} from './types.js';
import { badEncodingColumn, type RowValidator, rowValidator } from './validate.js';

/** Where a file's bytes come from: a Node `Readable` or any async iterable of chunks. */
export type ExportSource = AsyncIterable<Uint8Array | string>;

export interface ParseOptions {
  /** The file's name in reports and rejections (source path or Drive file id). */
  readonly file: string;
  readonly settings: ValidationSettings;
  /** When the file arrived (epoch ms); rows dated more than `futureToleranceMs` later are `future_timestamp`. */
  readonly arrivedAtMs: number;
}

const REPLACEMENT_CHARACTER = '\uFFFD';
const CARRIAGE_RETURN = 13;
const BYTE_ORDER_MARK = 0xfeff;

interface PapaChunkResult {
  readonly data: string[][];
  readonly errors: readonly { readonly row?: number | undefined; readonly message: string }[];
  readonly meta: { readonly cursor: number };
}

/**
 * One file's parse: iterate it for batches of entries in file order; `kind`, `columns` and
 * `summary` describe the file. `kind` is known before the first batch is yielded (and after
 * iteration for a file without rows). A file whose header is unusable yields a single batch with a
 * `rejected` entry for row 0 and stops reading.
 *
 * @example
 * const parse = parseExport(createReadStream('exports/order_items.csv'), {
 *   file: 'exports/order_items.csv',
 *   settings: validationSettings(loadSettings()),
 *   arrivedAtMs: Date.now(),
 * });
 * for await (const batch of parse) for (const entry of batch) if (entry.kind === 'line_item') use(entry.record);
 * console.log(parse.kind, parse.summary.rowsRejected);
 */
export class ExportParse implements AsyncIterable<ParsedBatch> {
  #kind: FileKind | null = null;
  #columns: readonly string[] = [];
  #headerLine = '';
  #fileRejection: Rejection | null = null;
  #rowsRead = 0;
  #rowsValid = 0;
  #rowsExcluded = 0;
  #rowsRejected = 0;
  #outliers = 0;
  #blankLines = 0;
  #finished = false;
  #started = false;
  readonly #rejectionsByReason: Partial<Record<ReasonCode, number>> = {};

  constructor(
    private readonly source: ExportSource,
    private readonly options: ParseOptions,
  ) {}

  /** The file's kind by its header; `null` before the header is read or when it matched none. */
  get kind(): FileKind | null {
    return this.#kind;
  }

  /** The header as written (trimmed, BOM removed). */
  get columns(): readonly string[] {
    return this.#columns;
  }

  /** The header as one CSV record: kept with quarantined rows so that `requeue` can re-validate them. */
  get headerLine(): string {
    return this.#headerLine;
  }

  /** Counts so far; final once iteration has ended. */
  get summary(): FileSummary {
    return {
      file: this.options.file,
      kind: this.#kind,
      columns: this.#columns,
      fileRejection: this.#fileRejection,
      headerOnly:
        this.#finished && this.#kind !== null && this.#fileRejection === null && this.#rowsRead === 0,
      rowsRead: this.#rowsRead,
      rowsValid: this.#rowsValid,
      rowsExcluded: this.#rowsExcluded,
      rowsRejected: this.#rowsRejected,
      rejectionsByReason: { ...this.#rejectionsByReason },
      outliers: this.#outliers,
      blankLines: this.#blankLines,
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ParsedBatch> {
    if (this.#started) throw new Error(`the parse of ${this.options.file} can be iterated only once`);
    this.#started = true;
    // StringDecoder keeps a multi-byte character split across chunks for the next one and turns
    // invalid bytes into U+FFFD; it decodes about twice as fast as TextDecoder here.
    const decoder = new StringDecoder('utf8');
    let atStart = true;
    const records = new RecordSplitter();
    let validate: RowValidator | null = null;
    let carry = '';
    const step = (input: string, last: boolean): { batch: ParsedEntry[]; stop: boolean } => {
      const { rows, malformed, consumed } = records.split(input, last);
      carry = last ? '' : input.substring(consumed);
      const maybeBadBytes = input.includes(REPLACEMENT_CHARACTER);
      const batch: ParsedEntry[] = [];
      for (let index = 0; index < rows.length; index++) {
        const fields = rows[index]!;
        stripCarriageReturn(fields);
        if (fields.length === 1 && fields[0] === '') {
          this.#blankLines++;
          continue;
        }
        if (validate === null) {
          const header = this.#readHeader(fields, maybeBadBytes);
          if (header === null) return { batch: [this.#fileRejectionEntry()], stop: true };
          validate = header;
          continue;
        }
        const origin: RowOrigin = { file: this.options.file, row: ++this.#rowsRead };
        const line = malformed?.get(index);
        const entry =
          line === undefined ? validate(fields, origin, maybeBadBytes) : malformedEntry(line, origin);
        this.#count(entry);
        batch.push(entry);
      }
      return { batch, stop: false };
    };

    for await (const chunk of this.source) {
      let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      if (text.length === 0) continue;
      if (atStart) {
        atStart = false;
        if (text.charCodeAt(0) === BYTE_ORDER_MARK) text = text.slice(1);
      }
      const { batch, stop } = step(carry.length === 0 ? text : carry + text, false);
      if (batch.length > 0) yield batch;
      if (stop) {
        this.#finished = true;
        return;
      }
    }
    let tail = carry + decoder.end();
    if (atStart && tail.charCodeAt(0) === BYTE_ORDER_MARK) tail = tail.slice(1);
    const { batch } = step(tail.endsWith('\r') ? tail.slice(0, -1) : tail, true);
    if (validate === null && this.#fileRejection === null) {
      this.#fileRejection = this.#wholeFile(
        Reason.EmptyFile,
        null,
        `${this.options.file} is empty (no header)`,
      );
      batch.push(this.#fileRejectionEntry());
    }
    this.#finished = true;
    if (batch.length > 0) yield batch;
  }

  /** The validator for the header `cells`, or `null` after recording why the file is rejected. */
  #readHeader(cells: string[], maybeBadBytes: boolean): RowValidator | null {
    this.#headerLine = joinCsvRecord(cells);
    const undecodable = maybeBadBytes && badEncodingColumn(cells, cells) !== null;
    // An export saved in another encoding (UTF-16, with or without BOM) still shows its header once
    // undecodable bytes and NULs are dropped: that is `bad_encoding`. A header that does not (a
    // workbook, an image) is no export at all: `unknown_file_kind` below, reported and skipped.
    if ((undecodable || cells.some((cell) => cell.includes('\u0000'))) && readsAsExport(cells)) {
      this.#fileRejection = this.#wholeFile(
        Reason.BadEncoding,
        null,
        `the header of ${this.options.file} is not valid UTF-8`,
      );
      return null;
    }
    const match = matchHeader(cells);
    if (!match.ok) {
      this.#kind = match.kind;
      this.#fileRejection =
        match.kind === null
          ? this.#wholeFile(
              Reason.UnknownFileKind,
              null,
              `${this.options.file}: the header matches no known export (order_items, order_item_options, date_dim, locations)`,
            )
          : this.#wholeFile(
              Reason.MissingColumn,
              match.missing[0] ?? null,
              `${this.options.file} looks like ${match.kind} but lacks the column(s) ${match.missing.join(', ')}`,
            );
      return null;
    }
    const layout: ColumnLayout = match.layout;
    this.#kind = layout.kind;
    this.#columns = layout.columns;
    return rowValidator(layout, { settings: this.options.settings, arrivedAtMs: this.options.arrivedAtMs });
  }

  #wholeFile(reason: ReasonCode, column: string | null, message: string): Rejection {
    return { file: this.options.file, row: 0, column, reason, message, raw: this.#headerLine };
  }

  #fileRejectionEntry(): ParsedEntry {
    return { kind: EntryKind.Rejected, rejection: this.#fileRejection! };
  }

  #count(entry: ParsedEntry): void {
    switch (entry.kind) {
      case EntryKind.Rejected: {
        this.#rowsRejected++;
        const reason = entry.rejection.reason;
        this.#rejectionsByReason[reason] = (this.#rejectionsByReason[reason] ?? 0) + 1;
        return;
      }
      case EntryKind.Excluded:
        this.#rowsExcluded++;
        return;
      case EntryKind.LineItem:
      case EntryKind.Option:
        this.#rowsValid++;
        if (entry.outlier !== null) this.#outliers++;
        return;
      default:
        this.#rowsValid++;
    }
  }
}

/**
 * Parses an export file as it streams in. See `ExportParse` for what it yields.
 *
 * @example
 * for await (const batch of parseExport(stream, { file, settings, arrivedAtMs })) { … }
 */
export function parseExport(source: ExportSource, options: ParseOptions): ExportParse {
  return new ExportParse(source, options);
}

/**
 * Splits decoded text into CSV records with papaparse. Its `Parser` takes a fast path (a plain
 * split) for text without any quote character and a much slower scanning path otherwise; real
 * exports quote a field here and there, so nearly every chunk would take the slow path. The
 * splitter hands papaparse the quote-free runs of whole lines on their own and only the records
 * that hold a quote to the scanning parser, one record at a time.
 */
class RecordSplitter {
  readonly #plain = new Papa.Parser({ delimiter: ',', newline: '\n', fastMode: true });
  readonly #quoted = new Papa.Parser({ delimiter: ',', newline: '\n', fastMode: false, preview: 1 });

  /**
   * The complete records of `input` (all of it when `last`), the lines of those with malformed
   * quotes by index, as the file has them, and how many characters they took: the rest starts an
   * incomplete record.
   */
  split(
    input: string,
    last: boolean,
  ): { rows: string[][]; malformed: Map<number, string> | null; consumed: number } {
    let rows: string[][] | null = null;
    let malformed: Map<number, string> | null = null;
    let position = 0;
    const append = (data: string[][]): void => {
      if (rows === null) rows = data;
      else for (const row of data) rows.push(row);
    };
    while (position < input.length) {
      const quote = input.indexOf('"', position);
      if (quote === -1) {
        const result = this.#plain.parse(
          position === 0 ? input : input.substring(position),
          0,
          !last,
        ) as PapaChunkResult;
        append(result.data);
        position = last ? input.length : position + result.meta.cursor;
        break;
      }
      // `position` starts a record and no quote precedes `quote`, so the line break before it ends a record.
      const lineStart = Math.max(position, input.lastIndexOf('\n', quote) + 1);
      if (lineStart > position) {
        // A run of whole lines ending in a line break: its last "row" is the empty rest, dropped.
        append((this.#plain.parse(input.substring(position, lineStart), 0, true) as PapaChunkResult).data);
        position = lineStart;
      }
      const result = this.#quoted.parse(input.substring(position), 0, !last) as PapaChunkResult;
      const record = result.data[0];
      if (record === undefined) break;
      if (result.errors.length > 0) {
        // A stray quote (`"Burgers"extra`, or one never closed) would make the parser read on to
        // the next quote and swallow the rows in between: a malformed record ends with its line.
        const lineEnd = input.indexOf('\n', position);
        if (lineEnd === -1 && !last) break;
        const end = lineEnd === -1 ? input.length : lineEnd + 1;
        const line = input.substring(position, lineEnd === -1 ? end : lineEnd);
        malformed ??= new Map();
        malformed.set(
          rows === null ? 0 : (rows as string[][]).length,
          line.endsWith('\r') ? line.slice(0, -1) : line,
        );
        append([(this.#plain.parse(line, 0, false) as PapaChunkResult).data[0] ?? ['']]);
        position = end;
        continue;
      }
      append([record]);
      if (result.meta.cursor <= 0)
        throw new Error('the CSV parser returned a record without consuming input');
      position += result.meta.cursor;
    }
    return { rows: rows ?? [], malformed, consumed: position };
  }
}

/** Whether a header names a known export once undecodable bytes and NULs are dropped. */
function readsAsExport(cells: readonly string[]): boolean {
  // Undecodable bytes (U+FFFD) and NULs are what other encodings leave in a UTF-8 reading.
  const match = matchHeader(
    cells.map((cell) => cell.replaceAll(REPLACEMENT_CHARACTER, '').replaceAll('\u0000', '')),
  );
  return match.ok || match.kind !== null;
}

/**
 * A row with a malformed quoted field. Its `raw` is the line as the file has it: the fields read
 * from it are a guess, and written back as CSV they would read as a well-formed row that `requeue`
 * would take although nothing was fixed.
 */
function malformedEntry(line: string, origin: RowOrigin): ParsedEntry {
  return {
    kind: EntryKind.Rejected,
    rejection: {
      file: origin.file,
      row: origin.row,
      column: null,
      reason: Reason.MalformedRow,
      message: `row ${origin.row} has a malformed quoted field`,
      raw: line,
    },
  };
}

/** Records end at LF; a CRLF file leaves its CR on the last field, which is not data. */
function stripCarriageReturn(fields: string[]): void {
  const lastIndex = fields.length - 1;
  const last = fields[lastIndex]!;
  if (last.length > 0 && last.charCodeAt(last.length - 1) === CARRIAGE_RETURN) {
    fields[lastIndex] = last.slice(0, -1);
  }
}
