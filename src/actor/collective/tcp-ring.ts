/**
 * Ring all-reduce over TCP links (reduce-scatter, then all-gather), chunked
 * and pipelined: each rank's row is cut into `size` chunks and every chunk
 * into pieces, and a piece is forwarded as soon as it has been added, so all
 * links carry data at once. Bandwidth per rank: 2(n−1)/n of the row.
 *
 * Bit-identical at every member: a chunk is summed once, in a fixed order
 * (around the ring, ending at its owner), and that float32 result is then
 * copied to every other member; nobody re-adds it. `total` is the float64 sum
 * of those identical bits in index order, so it is identical too.
 *
 * The reduce-scatter works in `row` itself (its caller writes it afresh
 * before every reduce), and a collective returns only once every piece it
 * sent from `row` is in the kernel, so `row` may be rewritten at once.
 *
 * Nothing waits forever: a closed socket rejects at once, and every collective
 * has a timeout. After a failure the member closes its links (so its
 * neighbours fail at once, not at their own timeouts) and refuses further
 * reductions: the run must restart at a new epoch.
 */
import { performance } from 'node:perf_hooks';
import { errors, ParagenError } from '../../errors.js';
import type { AllReduceMember, Reduced } from './types.js';
import type { TcpLink } from './tcp-link.js';
import { withTimeout, type TcpMesh } from './tcp-mesh.js';

export interface TcpRingOptions {
  /** Elements of every member's row. */
  readonly length: number;
  /** The longest one reduce() may take, ms (default 30000). */
  readonly timeoutMs?: number;
  /** Bytes per pipelined piece (default 512 KiB: against 256, 1.3–1.6× the busbw on loopback and as good over a 1 gbit link, measured by bench:allreduce). */
  readonly pieceBytes?: number;
  /** Clock for `waitedMs` (default performance.now). */
  readonly now?: () => number;
}

/** The stream of the ring's frames on a link; point-to-point tags should avoid it. */
export const RING_STREAM = 0xffffffff;

/** Opens the ring on `mesh` (which it then owns: close() closes it). Links are made within the timeout. */
export async function openTcpRing(mesh: TcpMesh, options: TcpRingOptions): Promise<AllReduceMember> {
  const { length } = options;
  if (!Number.isInteger(length) || length < 1) throw errors.invalidValue('length', 'a positive integer', length);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw errors.invalidValue('timeoutMs', 'a positive number', timeoutMs);
  const pieceBytes = options.pieceBytes ?? 512 * 1024;
  if (!Number.isInteger(pieceBytes) || pieceBytes < 4) throw errors.invalidValue('pieceBytes', 'an integer of at least 4', pieceBytes);
  if (mesh.size === 1) return new TcpRing(mesh, undefined, undefined, length, timeoutMs, pieceBytes / 4, options.now);
  const next = (mesh.rank + 1) % mesh.size;
  const prev = (mesh.rank - 1 + mesh.size) % mesh.size;
  const links = withTimeout(Promise.all([mesh.link(next), mesh.link(prev)]), timeoutMs, () =>
    errors.collectiveTimeout('ring connection', timeoutMs, next),
  );
  try {
    const [toNext, fromPrev] = await links;
    return new TcpRing(mesh, toNext, fromPrev, length, timeoutMs, Math.max(1, Math.floor(pieceBytes / 4)), options.now);
  } catch (error) {
    await mesh.close();
    throw error;
  }
}

/** [start, end) of chunk `c` of `n` over `length` elements. */
function chunkRange(c: number, n: number, length: number): [number, number] {
  return [Math.floor((c * length) / n), Math.floor(((c + 1) * length) / n)];
}

// The hot loops live in plain functions: inside the async method V8 optimised them poorly (7× slower, measured).
function addInto(acc: Float32Array, start: number, data: Float32Array): void {
  // A view of the same length as `data`: V8 then drops the bounds checks (measured 1.1× faster).
  const into = acc.subarray(start, start + data.length);
  for (let i = 0; i < into.length; i++) into[i] += data[i]!;
}

function float64Sum(values: Float32Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

class TcpRing implements AllReduceMember {
  readonly rank: number;
  readonly size: number;
  readonly length: number;
  readonly row: Float32Array;
  readonly #sum: Float32Array;
  readonly #mesh: TcpMesh;
  readonly #next: TcpLink | undefined;
  readonly #prev: TcpLink | undefined;
  readonly #timeoutMs: number;
  readonly #pieceElems: number;
  readonly #now: () => number;
  #count = 0;
  #busy = false;
  #broken: ParagenError | undefined;
  #abort: ((error: ParagenError) => void) | undefined;

  constructor(
    mesh: TcpMesh,
    next: TcpLink | undefined,
    prev: TcpLink | undefined,
    length: number,
    timeoutMs: number,
    pieceElems: number,
    now: (() => number) | undefined,
  ) {
    this.rank = mesh.rank;
    this.size = mesh.size;
    this.length = length;
    this.row = new Float32Array(length);
    this.#sum = new Float32Array(length);
    this.#mesh = mesh;
    this.#next = next;
    this.#prev = prev;
    this.#timeoutMs = timeoutMs;
    this.#pieceElems = pieceElems;
    this.#now = now ?? (() => performance.now());
    // A neighbour lost between collectives breaks the ring at once, so the next reduce() fails fast.
    for (const link of [next, prev]) void link?.closed.then((error) => this.#fail(error));
  }

  /** `sum` is this member's buffer: valid until the next reduce(). */
  async reduce(): Promise<Reduced> {
    if (this.#broken) throw this.#broken;
    if (this.#busy) throw errors.internal('reduce() called while another reduce() is in flight');
    this.#busy = true;
    const index = this.#count++;
    let timer: NodeJS.Timeout | undefined;
    const aborted = new Promise<never>((_, reject) => {
      this.#abort = reject;
      timer = setTimeout(() => reject(errors.collectiveTimeout(`all-reduce ${index}`, this.#timeoutMs, this.#prevRank)), this.#timeoutMs);
    });
    aborted.catch(() => undefined);
    try {
      const waitedMs = await Promise.race([this.#run(aborted), aborted]);
      return { sum: this.#sum, total: float64Sum(this.#sum), waitedMs };
    } catch (error) {
      const failure = error instanceof ParagenError ? error : errors.internal('all-reduce failed', error);
      this.#fail(failure);
      throw this.#broken ?? failure;
    } finally {
      clearTimeout(timer);
      this.#abort = undefined;
      this.#busy = false;
    }
  }

  async close(): Promise<void> {
    this.#fail(errors.actorStopped(`all-reduce member ${this.rank}`));
    await this.#mesh.close();
  }

  get #prevRank(): number {
    return (this.rank - 1 + this.size) % this.size;
  }

  #fail(error: ParagenError): void {
    if (this.#broken) return;
    this.#broken = error;
    this.#abort?.(error);
    this.#next?.close();
    this.#prev?.close();
  }

  /** The ring itself; returns the time spent waiting on the previous rank. */
  async #run(aborted: Promise<never>): Promise<number> {
    const { size: n, rank: r, length } = this;
    const sum = this.#sum;
    if (n === 1) {
      sum.set(this.row);
      return 0;
    }
    const next = this.#next!;
    const prev = this.#prev!;
    // The reduce-scatter adds into `row`; its pieces go out as views of it (no copy).
    const acc = this.row;
    let waited = 0;
    const pieces = (c: number): Array<[number, number]> => {
      const [start, end] = chunkRange(c, n, length);
      const out: Array<[number, number]> = [];
      for (let at = start; at < end; at += this.#pieceElems) out.push([at, Math.min(end, at + this.#pieceElems)]);
      return out;
    };
    const receive = async (): Promise<Float32Array> => {
      const started = this.#now();
      const data = await Promise.race([prev.recv(RING_STREAM), aborted]);
      waited += this.#now() - started;
      return data;
    };
    const check = (data: Float32Array, start: number, end: number): void => {
      if (data.length !== end - start) throw errors.peerLost(this.#prevRank, `sent ${data.length} elements where ${end - start} were due (rows of different lengths?)`);
    };

    // Reduce-scatter, in `acc`. Step s sends chunk r−s and receives chunk r−s−1, adding its own part;
    // each added piece goes straight on (to step s+1, or after the last step, to the all-gather).
    // A chunk is never changed after it was sent within the reduce-scatter, so views are safe to send.
    for (const [start, end] of pieces(r)) next.sendView(RING_STREAM, acc.subarray(start, end));
    for (let s = 0; s < n - 1; s++) {
      for (const [start, end] of pieces((r - s - 1 + n) % n)) {
        const data = await receive();
        check(data, start, end);
        addInto(acc, start, data);
        prev.recycle(data);
        next.sendView(RING_STREAM, acc.subarray(start, end));
        if (s === n - 2) sum.set(acc.subarray(start, end), start);
      }
    }
    // All-gather, into `sum` (not `acc`, whose pieces may still be queued): this rank owns chunk r+1
    // (just sent); step s receives chunk r−s, the final bits from its owner, and passes them on as received.
    for (let s = 0; s < n - 1; s++) {
      for (const [start, end] of pieces((r - s + n) % n)) {
        const data = await receive();
        check(data, start, end);
        sum.set(data, start);
        if (s < n - 2) next.sendView(RING_STREAM, data, () => prev.recycle(data));
        else prev.recycle(data);
      }
    }
    // Every view of `row` in the kernel before the caller may write it again.
    await Promise.race([next.flushed(), aborted]);
    return waited;
  }
}
