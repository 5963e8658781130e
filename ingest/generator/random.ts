/**
 * The generator's only source of randomness: a seeded xoroshiro128+ stream (pure-rand) and the
 * distributions the chain model draws from. Same seed, same calls → same values, on every machine.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

const TWO_POW_32 = 4_294_967_296;
const HEX16: readonly string[] = Array.from({ length: 65_536 }, (_, value) =>
  value.toString(16).padStart(4, '0'),
);
const HEX12: readonly string[] = Array.from({ length: 4_096 }, (_, value) =>
  value.toString(16).padStart(3, '0'),
);
const UUID_VARIANTS = ['8', '9', 'a', 'b'] as const;

/** A cumulative weight table, built once and sampled many times. */
export interface WeightedTable<T> {
  readonly values: readonly T[];
  /** Running sums of the weights, last = total. */
  readonly cumulative: Float64Array;
}

/** A table for `Random.weighted`; weights need not sum to 1 but must be ≥ 0 with a positive total. */
export function weightedTable<T>(entries: readonly (readonly [T, number])[]): WeightedTable<T> {
  const cumulative = new Float64Array(entries.length);
  let total = 0;
  entries.forEach(([, weight], index) => {
    if (!(weight >= 0)) throw new RangeError(`a weight must be ≥ 0 (given ${weight})`);
    total += weight;
    cumulative[index] = total;
  });
  if (!(total > 0)) throw new RangeError('a weight table needs a positive total weight');
  return { values: entries.map(([value]) => value), cumulative };
}

/** A seeded random stream. Not cryptographic; reproducibility is the point. */
export class Random {
  private readonly generator: JumpableRandomGenerator;

  private constructor(generator: JumpableRandomGenerator) {
    this.generator = generator;
  }

  /** A stream for `seed` (any safe integer; the low 32 bits and the high bits are both used). */
  static fromSeed(seed: number): Random {
    const mixed = (seed ^ Math.floor(seed / TWO_POW_32)) | 0;
    return new Random(xoroshiro128plus(mixed));
  }

  /**
   * An independent stream: a copy of this one advanced by 2^64 draws, so the two never overlap.
   * This stream is left where it was.
   */
  fork(): Random {
    const child = this.generator.clone() as JumpableRandomGenerator;
    child.jump();
    this.generator.jump();
    this.generator.jump();
    return new Random(child);
  }

  /** Uniform in [0, 1), 32 bits of resolution (plenty for shares and weights). */
  float(): number {
    return (this.generator.next() >>> 0) / TWO_POW_32;
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** One element, uniformly. */
  pick<T>(values: readonly T[]): T {
    const value = values[Math.floor(this.float() * values.length)];
    if (value === undefined) throw new RangeError('cannot pick from an empty list');
    return value;
  }

  /** One value of a weight table, with probability proportional to its weight. */
  weighted<T>(table: WeightedTable<T>): T {
    const { cumulative, values } = table;
    const target = this.float() * (cumulative[cumulative.length - 1] ?? 0);
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] ?? 0) > target) high = middle;
      else low = middle + 1;
    }
    return values[low] as T;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** Standard normal (Box–Muller; one of the pair is discarded to keep the stream stateless). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `x` rounded to an integer up or down with probabilities that keep the mean at `x`. */
  roundStochastic(x: number): number {
    const floor = Math.floor(x);
    return floor + (this.float() < x - floor ? 1 : 0);
  }

  /** `words` × 4 random lower-case hex characters (16 bits each). */
  hex16(words: number): string {
    let out = '';
    for (let index = 0; index < words; index++) out += HEX16[this.generator.next() & 0xffff];
    return out;
  }

  /** A version-4 UUID string built from this stream (122 random bits). */
  uuid(): string {
    const a = this.generator.next();
    const b = this.generator.next();
    const c = this.generator.next();
    const d = this.generator.next();
    return (
      `${HEX16[a >>> 16]}${HEX16[a & 0xffff]}-${HEX16[b >>> 16]}-4${HEX12[b & 0xfff]}-` +
      `${UUID_VARIANTS[c >>> 30]}${HEX12[(c >>> 16) & 0xfff]}-${HEX16[c & 0xffff]}${HEX16[d >>> 16]}${HEX16[d & 0xffff]}`
    );
  }
}
