/**
 * Collectives as the runtime offers them to actors: an actor calls
 * `reduce()` on its member of a group without knowing how the bytes move.
 * Today's transport is shared memory between threads (shared-memory.ts);
 * the same interface fits a TCP ring between machines.
 */

/** What an all-reduce gives every member. */
export interface Reduced {
  /** The sum of every member's contribution: bit-identical at every member. Read it before the next `reduce`. */
  readonly sum: Float32Array;
  /** The float64 sum of `sum`'s elements, finite iff every element is; the same at every member. */
  readonly total: number;
  /** Milliseconds spent waiting for the other members. */
  readonly waitedMs: number;
}

/** One member's end of an all-reduce group, inside its worker. */
export interface AllReduceMember {
  readonly rank: number;
  readonly size: number;
  /** Floats in one contribution. */
  readonly length: number;
  /** This member's contribution: write it here before every `reduce` (a reduce may work in it). */
  readonly row: Float32Array;
  /** Sums every member's row; rejects with `ReduceAborted` when the group is aborted or a member is lost. */
  reduce(): Promise<Reduced>;
  close(): Promise<void>;
}

/** The error a waiting member gets when its group is aborted (another member failed). */
export class ReduceAborted extends Error {
  override readonly name = 'ReduceAborted';
}
