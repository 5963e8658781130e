/** Nightly compaction: mart writers (CSV, Parquet) and S3 snapshots with manifests. */
export { csvCell, csvField, guardFormula, martToCsv } from './csv.js';
export * from './errors.js';
export { martToParquet, parquetValue, schemaElement } from './parquet.js';
export * from './snapshot.js';
