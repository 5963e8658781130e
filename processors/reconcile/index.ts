/**
 * `tillstream reconcile` and its parts: the independent recomputation of the marts and of the
 * DynamoDB aggregates with DuckDB (DESIGN.md "Independence"), the comparison with what the
 * pipeline stored, and the end-to-end tests' helpers. This file is the module's only public door.
 */
export { breakdownFields, customerDayFields, totalFields } from './aggregates-sql.js';
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
  type RecomputeSource,
  type RecomputeSummary,
  recomputeMarts,
  type SkippedFile,
  StagedInput,
} from './engine.js';
export { ReconcileError } from './errors.js';
export { type InputFile, InputKind, listInputFiles, recogniseHeader } from './files.js';
export { type AggregateField, decodeStoredItem, StoredItemKind, storedItemKind } from './item-layout.js';
export { defaultMartWindows, type MartWindows, martLayouts, ReconcileMart } from './marts-sql.js';
export {
  type Difference,
  type LandedFile,
  landedVersions,
  newestSnapshotDate,
  type ReconcileOptions,
  type ReconcileReport,
  reconcile,
} from './reconcile.js';
export type { StagingSettings } from './staging-sql.js';
