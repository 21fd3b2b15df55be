/**
 * What a data-parallel replica holds to sum gradients with the others: the
 * same shape for every transport (SharedArrayBuffer between threads, TCP
 * between hosts), so the engine cannot tell them apart.
 */

export interface Reduced {
  readonly sum: Float32Array;
  /** float64 sum of sum's elements, IDENTICAL at every member */
  readonly total: number;
  /** How long this member waited on its peers during the collective, ms. */
  readonly waitedMs: number;
}

export interface AllReduceMember {
  readonly rank: number;
  readonly size: number;
  readonly length: number;
  /** this member's contribution: write here, then call reduce() */
  readonly row: Float32Array;
  /** sums every member's row; resolves at every member with bit-identical `sum` and `total`; rejects on timeout/peer loss/abort */
  reduce(): Promise<Reduced>;
  close(): Promise<void>;
}
