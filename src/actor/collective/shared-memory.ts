/**
 * The all-reduce between threads: R replicas of one network sum their
 * gradients in a SharedArrayBuffer, each reducing its 1/R slice, so that every
 * replica ends with the same sum, bit for bit, and applies the same update.
 *
 *   1. each replica writes its (already weighted) gradient into its own row;
 *   2. barrier;
 *   3. replica r sums slice r of every row, in rank order, into the output
 *      row, and writes its slice's float64 sum (the finite check) beside it;
 *   4. barrier;
 *   5. every replica reads the whole output row and the R partial sums.
 *
 * The summation order is fixed (rank 0 first), so the result does not depend
 * on which replica arrives first. A replica's next write (its own row) cannot
 * disturb a reader of the output: the output is written again only after the
 * next step's first barrier, which every replica reaches after it has read.
 *
 * The barriers wait with `Atomics.waitAsync`, never the blocking
 * `Atomics.wait`: a worker thread hosts several actors (a replica's encoder
 * and decoder, its data loader), and a blocked event loop would starve them.
 * A member that dies or fails leaves the others waiting; the coordinator then
 * `abortGroup`s, which wakes them with `ReduceAborted`, and `resetGroup`s once
 * every request has settled.
 *
 * The buffer is shared by threads only: replicas in processes use a TCP ring (tcp-member.ts).
 */
import { errors } from '../../errors.js';
import { ReduceAborted, type AllReduceMember, type Reduced } from './types.js';

/** One network's reduction buffer, shared by its R replicas (sent to each in its init). */
export interface ReduceGroup {
  readonly buffer: SharedArrayBuffer;
  /** Replicas in the group. */
  readonly size: number;
  /** Floats in one contribution: every trainable weight of the network, flattened in order. */
  readonly length: number;
}

/** A replica's place in its group. */
export interface GroupMember extends ReduceGroup {
  readonly rank: number;
}

/** Int32 words: arrivals at the current barrier, its generation, the abort flag. */
const COUNT = 0;
const GENERATION = 1;
const ABORTED = 2;
const CONTROL_WORDS = 4;

/** Where the float rows start: after the control words and R float64 partial sums, cache-line aligned. */
function rowsOffset(size: number): number {
  return Math.ceil((CONTROL_WORDS * 4 + size * 8) / 64) * 64;
}

/** A group for `size` replicas of a network of `length` trainable floats. */
export function createGroup(size: number, length: number): ReduceGroup {
  if (!Number.isSafeInteger(size) || size < 1) throw errors.invalidValue('replicas', 'a positive integer', size);
  if (!Number.isSafeInteger(length) || length < 1) throw errors.invalidValue('gradient length', 'a positive integer', length);
  // R input rows and one output row.
  const buffer = new SharedArrayBuffer(rowsOffset(size) + (size + 1) * length * 4);
  return { buffer, size, length };
}

/** Wakes every waiting member with `ReduceAborted` (a member died or failed). Idempotent. */
export function abortGroup(group: ReduceGroup): void {
  const control = new Int32Array(group.buffer, 0, CONTROL_WORDS);
  Atomics.store(control, ABORTED, 1);
  Atomics.notify(control, GENERATION);
}

/** Ready for the next step after an abort; call only when no member is inside `reduce`. */
export function resetGroup(group: ReduceGroup): void {
  const control = new Int32Array(group.buffer, 0, CONTROL_WORDS);
  Atomics.store(control, COUNT, 0);
  Atomics.store(control, ABORTED, 0);
}

/** Whether `abortGroup` was called since the last reset. */
export function isAborted(group: ReduceGroup): boolean {
  return Atomics.load(new Int32Array(group.buffer, 0, CONTROL_WORDS), ABORTED) === 1;
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

// Node 16+ has it; TypeScript's lib declares it only from ES2024.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** A member's end of its group, inside the replica's worker. Its `sum` is a view of the shared output row. */
export class Reducer implements AllReduceMember {
  readonly rank: number;
  readonly size: number;
  readonly length: number;
  readonly #control: Int32Array;
  readonly #partials: Float64Array;
  readonly #rows: Float32Array[];
  readonly #out: Float32Array;
  readonly #slice: readonly [number, number];

  constructor(member: GroupMember) {
    const { buffer, size, length, rank } = member;
    if (!Number.isSafeInteger(rank) || rank < 0 || rank >= size) {
      throw errors.invalidValue('replica rank', `an integer in [0, ${size})`, rank);
    }
    this.rank = rank;
    this.size = size;
    this.length = length;
    this.#control = new Int32Array(buffer, 0, CONTROL_WORDS);
    this.#partials = new Float64Array(buffer, CONTROL_WORDS * 4, size);
    const start = rowsOffset(size);
    this.#rows = Array.from({ length: size }, (_, r) => new Float32Array(buffer, start + r * length * 4, length));
    this.#out = new Float32Array(buffer, start + size * length * 4, length);
    // Member r sums its slice: as even as `length` allows, the first `length % size` one longer (as data shards are cut).
    const base = Math.floor(length / size);
    const first = rank * base + Math.min(rank, length % size);
    this.#slice = [first, first + base + (rank < length % size ? 1 : 0)];
  }

  /** Nothing to release: the buffer belongs to the group. */
  async close(): Promise<void> {}

  /** This member's row: write the contribution here, then call `reduce`. */
  get row(): Float32Array {
    return this.#rows[this.rank]!;
  }

  /** Sums every member's row (see the file comment); resolves at every member with the same result. */
  async reduce(): Promise<Reduced> {
    let waitedMs = await this.#barrier();
    const [start, end] = this.#slice;
    const out = this.#out;
    const rows = this.#rows;
    let total = 0;
    out.set(rows[0]!.subarray(start, end), start);
    for (let r = 1; r < rows.length; r++) {
      const row = rows[r]!;
      for (let i = start; i < end; i++) out[i]! += row[i]!;
    }
    for (let i = start; i < end; i++) total += out[i]!;
    this.#partials[this.rank] = total;
    waitedMs += await this.#barrier();
    total = 0;
    for (let r = 0; r < this.size; r++) total += this.#partials[r]!;
    return { sum: out, total, waitedMs };
  }

  /** A generation-counting barrier; rejects with `ReduceAborted` once the group is aborted. */
  async #barrier(): Promise<number> {
    const control = this.#control;
    if (Atomics.load(control, ABORTED)) throw new ReduceAborted(`all-reduce aborted at replica ${this.rank}`);
    const generation = Atomics.load(control, GENERATION);
    if (Atomics.add(control, COUNT, 1) === this.size - 1) {
      Atomics.store(control, COUNT, 0);
      Atomics.add(control, GENERATION, 1);
      Atomics.notify(control, GENERATION);
      return 0;
    }
    const started = performance.now();
    while (Atomics.load(control, GENERATION) === generation) {
      if (Atomics.load(control, ABORTED)) throw new ReduceAborted(`all-reduce aborted at replica ${this.rank}`);
      const wait = waitAsync(control, GENERATION, generation);
      if (wait.async) await wait.value;
    }
    return performance.now() - started;
  }
}
