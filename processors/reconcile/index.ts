/**
 * The independent recomputation of the marts with DuckDB (DESIGN.md "Independence") and the
 * comparison with a snapshot: the base of `tillstream reconcile` and of the end-to-end tests. This
 * file is the module's only public door.
 */
export {
  compareMart,
  compareMarts,
  formatDifferences,
  type MartDifference,
  parseMartCsv,
  readExportedMarts,
} from './compare.js';
export {
  type MartTable,
  type Recomputation,
  type RecomputeOptions,
  type RecomputeSummary,
  recomputeMarts,
  type SkippedFile,
} from './engine.js';
export { ReconcileError } from './errors.js';
export { type InputFile, InputKind, listInputFiles, recogniseHeader } from './files.js';
export { defaultMartWindows, type MartWindows, martLayouts, ReconcileMart } from './marts-sql.js';
export type { StagingSettings } from './staging-sql.js';
