/** The data path: dataset readers (IDX, NPY), pixel ranges, seeded batches and shards, PNG grids. */

export { BatchSampler, epochSeed, gatherBatch, gatherLabels, shard, shardRange } from './batches.js';
export type { Batch, Cursor, SamplerOptions } from './batches.js';
export { DEFAULT_HOLDOUT, IDX_FILES, IN_MEMORY, inMemoryDataset, loadDataset, mnistDataDir } from './dataset.js';
export type { Dataset, InMemoryDataset, LoadOptions, Split } from './dataset.js';
export { findIdxFile, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, readIdxImages, readIdxLabels } from './idx.js';
export type { IdxImages, IdxLabels } from './idx.js';
export {
  affine,
  checkPixelRange,
  floatValueRange,
  normalize,
  PIXEL_RANGES,
  toUnit,
  UINT8_RANGE,
} from './normalize.js';
export type { PixelRange, ValueRange } from './normalize.js';
export { encodeNpy, readNpy, writeNpy } from './npy.js';
export type { NpyArray } from './npy.js';
export { crc32, encodePng, imageGrid, writePng } from './png.js';
export type { GridOptions, RasterImage } from './png.js';
