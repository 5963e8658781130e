/**
 * A CSV file written as a stream with backpressure: records are encoded straight into a chunk
 * buffer, and a full chunk is handed to the file stream only when it has room, so memory stays
 * flat however many rows go through.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';

const CHUNK_BYTES = 1 << 20;
const BOM = '\uFEFF';

export interface SinkFormat {
  /** `\n` or `\r\n` between records. */
  readonly eol: '\n' | '\r\n';
  /** Start the file with a UTF-8 byte order mark. */
  readonly bom: boolean;
}

export class CsvSink {
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  /** Records written after the header. */
  records = 0;

  private constructor(
    readonly path: string,
    private readonly format: SinkFormat,
    private readonly stream: WriteStream,
  ) {}

  /** Creates the file (and its folders) and writes the header. */
  static async open(path: string, header: string, format: SinkFormat): Promise<CsvSink> {
    await mkdir(dirname(path), { recursive: true });
    // Room for a few chunks keeps the disk busy while the next chunk is generated.
    const stream = createWriteStream(path, { highWaterMark: 4 * CHUNK_BYTES });
    await once(stream, 'open');
    const sink = new CsvSink(path, format, stream);
    sink.append((format.bom ? BOM : '') + header + format.eol);
    return sink;
  }

  /** Encodes `text` into the chunk; false when it does not fit whole. */
  private append(text: string): boolean {
    // UTF-8 takes at most 3 bytes per UTF-16 unit, so this bound never overflows the chunk.
    if (this.used + text.length * 3 > CHUNK_BYTES) {
      if (this.used + Buffer.byteLength(text) > CHUNK_BYTES) return false;
    }
    this.used += this.chunk.write(text, this.used);
    return true;
  }

  /** Appends records (without terminators); resolves once full chunks are accepted by the stream. */
  async write(records: readonly string[]): Promise<void> {
    const { eol } = this.format;
    for (const record of records) {
      const line = record + eol;
      if (!this.append(line)) {
        await this.flush();
        if (!this.append(line)) await this.handOver(Buffer.from(line));
      }
    }
    this.records += records.length;
  }

  private async handOver(bytes: Buffer): Promise<void> {
    if (!this.stream.write(bytes)) await once(this.stream, 'drain');
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const full = this.chunk.subarray(0, this.used);
    // The stream keeps the handed-over buffer until written; the next records go to a fresh one.
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    await this.handOver(full);
  }

  /** Writes what is buffered and closes the file; resolves to its size once it is on disk. */
  async close(): Promise<number> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
    return this.stream.bytesWritten;
  }
}
