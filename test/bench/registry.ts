/** The shape every benchmark module exports, so `run.ts` can run them in sequence. */

/** One line of the printed table. */
export interface BenchFigure {
  /** The figure's key in the module's `results` (the table prints it as `module.figure`). */
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** What the figure must reach, e.g. `>= 300000` or `< 256`; empty when the issues set none. */
  readonly target: string;
  /** The same figure for the baseline run in the same process run, when there is one. */
  readonly baseline: number | null;
  /** Whether `value` meets `target`; `null` when there is no target. */
  readonly pass: boolean | null;
}

export interface BenchReport {
  readonly figures: readonly BenchFigure[];
  /** Written to `bench-results.json` under the module's name: every value a finite number. */
  readonly results: Readonly<Record<string, number>>;
  /** What the figures were measured on (input, sizes, settings): printed and kept beside the results. */
  readonly notes?: readonly string[];
}

export interface BenchModule {
  readonly name: string;
  run(): Promise<BenchReport>;
}
