/** The shape every benchmark module exports, so `run.ts` can run them in sequence. */

/** One line of the printed table. */
export interface BenchFigure {
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** What the figure must reach, e.g. `≥ 300000` or `< 256`. */
  readonly target: string;
  /** The same figure for the baseline tool, when there is one. */
  readonly baseline: number | null;
  /** Whether `value` meets `target`. */
  readonly pass: boolean;
}

export interface BenchReport {
  readonly figures: readonly BenchFigure[];
  /** Written to `bench-results.json` under the module's name. */
  readonly results: Readonly<Record<string, number | string | boolean | null>>;
}

export interface BenchModule {
  readonly name: string;
  run(): Promise<BenchReport>;
}
