/**
 * How a global batch is cut up: into replica shards (data parallelism), each
 * shard into microbatches (pipeline parallelism). A chunk is one microbatch
 * of one shard, named by its rows of the global batch.
 *
 * Weights. Every loss is a mean over its batch, so a chunk of n rows out of a
 * global batch of B trains on its loss times n/B: the weighted chunk losses
 * sum to the global batch's loss, and their gradients to its gradient, with
 * uneven chunks too. The weight is folded into the loss itself (steps.ts), so
 * gradients come out scaled at no extra cost and simply add up.
 *
 * Randomness. The plan's noise and eps rows are cut exactly like the data,
 * so chunk c sees the rows the whole batch would. The plan's pass seeds fix
 * dropout masks and key batch statistics; a chunk's pass seed is
 * `chunkSeed(seed, offset)`: the plan's own seed for the chunk at row 0 (so an
 * unsplit batch keeps it), a hash of (seed, first row) for the others —
 * distinct passes need distinct seeds. A split batch therefore draws other
 * dropout masks than the unsplit one (no model has dropout and is expected to
 * match exactly: see the strategy notes in runner.ts).
 */
import { shardRange } from '../data/batches.js';

export interface Chunk {
  /** Its place among its shard's microbatches, from 0. */
  readonly index: number;
  /** Its first row in the global batch. */
  readonly offset: number;
  /** Its rows. */
  readonly size: number;
  /** size / global batch: the factor on its loss. */
  readonly weight: number;
  /** The shard's last microbatch: after it the shard's gradients are complete. */
  readonly last: boolean;
}

/** A replica's shard of the global batch and its microbatches. */
export interface ShardLayout {
  /** The shard's first row in the global batch. */
  readonly start: number;
  readonly size: number;
  readonly chunks: readonly Chunk[];
}

/**
 * The shards of a global batch of `batchSize` over `replicas`, each cut into
 * `microbatches` near-equal, contiguous chunks (`shardRange` both times: the
 * first ones hold one more row when sizes do not divide).
 */
export function layoutBatch(batchSize: number, replicas: number, microbatches: number): ShardLayout[] {
  return Array.from({ length: replicas }, (_, r) => {
    const [start, end] = shardRange(batchSize, r, replicas);
    const size = end - start;
    const chunks = Array.from({ length: microbatches }, (_, m) => {
      const [from, to] = shardRange(size, m, microbatches);
      return {
        index: m,
        offset: start + from,
        size: to - from,
        weight: (to - from) / batchSize,
        last: m === microbatches - 1,
      };
    });
    return { start, size, chunks };
  });
}

/** The pass seed of the chunk starting at global row `offset` (see the file comment). */
export function chunkSeed(seed: number, offset: number): number {
  if (offset === 0) return seed;
  return fmix32((seed ^ fmix32((offset + 0x632be5ab) >>> 0)) >>> 0);
}

/** Rows [from, to) of a row-major array with `rowLength` floats per row, copied (so it can move on its own). */
export function rowsOf(data: Float32Array, rowLength: number, from: number, to: number): Float32Array {
  return data.slice(from * rowLength, to * rowLength);
}

/** murmur3's finaliser: a bijection of 32-bit words that mixes every bit. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
