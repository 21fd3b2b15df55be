/**
 * The pieces of a parallel step without workers: how a batch is cut into
 * shards and microbatches, the pipeline schedules' order of work, and the
 * driver that sends requests in that order, measures busy time, and stops
 * cleanly at the first failure.
 */
import { describe, expect, it } from 'vitest';
import { ActorDied } from '../../src/actor/index.js';
import { chunkSeed, layoutBatch, rowsOf } from '../../src/parallel/chunks.js';
import { drive, idealBubble, rootError, stageZeroOrder, type Busy, type Stages } from '../../src/parallel/pipeline.js';

describe('layoutBatch', () => {
  it('cuts the batch into contiguous shards and microbatches that cover it in order, weighted by rows', () => {
    const layout = layoutBatch(15, 2, 3);
    expect(layout.map((s) => [s.start, s.size])).toEqual([
      [0, 8],
      [8, 7],
    ]);
    const chunks = layout.flatMap((s) => s.chunks);
    expect(chunks.map((c) => [c.offset, c.size])).toEqual([
      [0, 3],
      [3, 3],
      [6, 2],
      [8, 3],
      [11, 2],
      [13, 2],
    ]);
    expect(chunks.map((c) => c.last)).toEqual([false, false, true, false, false, true]);
    expect(chunks.reduce((w, c) => w + c.weight, 0)).toBeCloseTo(1, 12);
    expect(chunks[0]!.weight).toBe(3 / 15);
  });

  it('is one chunk of weight 1 for an unsplit batch', () => {
    expect(layoutBatch(8, 1, 1)).toEqual([{ start: 0, size: 8, chunks: [{ index: 0, offset: 0, size: 8, weight: 1, last: true }] }]);
  });
});

describe('chunkSeed', () => {
  it("keeps the plan's seed at row 0 and gives every other first row its own seed", () => {
    expect(chunkSeed(12345, 0)).toBe(12345);
    const seeds = new Set([1, 2, 3, 64, 65].map((offset) => chunkSeed(12345, offset)));
    expect(seeds.size).toBe(5);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
    expect(chunkSeed(12345, 64)).not.toBe(chunkSeed(12346, 64));
  });
});

describe('rowsOf', () => {
  it('copies rows of a row-major array', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    const rows = rowsOf(data, 3, 1, 3);
    expect(Array.from(rows)).toEqual([3, 4, 5, 6, 7, 8]);
    rows[0] = -1;
    expect(data[3]).toBe(3);
  });
});

describe('stageZeroOrder', () => {
  const show = (ops: ReturnType<typeof stageZeroOrder>) => ops.map((o) => `${o.kind === 'forward' ? 'F' : 'B'}${o.chunk}`).join(' ');

  it('runs every forward first under GPipe', () => {
    expect(show(stageZeroOrder('gpipe', 4))).toBe('F0 F1 F2 F3 B0 B1 B2 B3');
  });

  it('alternates one forward and one backward after one forward ahead under 1F1B', () => {
    expect(show(stageZeroOrder('1f1b', 4))).toBe('F0 F1 B0 F2 B1 F3 B2 B3');
    expect(show(stageZeroOrder('1f1b', 1))).toBe('F0 B0');
  });

  it('has the ideal bubble (p−1)/(m+p−1)', () => {
    expect(idealBubble(2, 8)).toBe(1 / 9);
    expect(idealBubble(2, 1)).toBe(1 / 2);
  });
});

/** Fake stages: each request resolves when the test says, and the log shows what was sent when. */
type Reply = { readonly name: string };

function fakeStages(fail?: { at: string; error: Error }): { stages: Stages<Reply, Reply, Reply>; log: string[]; settle: () => Promise<void> } {
  const log: string[] = [];
  const pending: { name: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const request = (name: string): Promise<Reply & Busy> =>
    new Promise<Reply & Busy>((resolve, reject) => {
      log.push(name);
      pending.push({ name, resolve: () => resolve({ name, busy: 1 }), reject });
    });
  const stages: Stages<Reply, Reply, Reply> = {
    forward: (c) => request(`F${c}`),
    last: (c) => request(`L${c}`),
    backward: (c) => request(`B${c}`),
  };
  // Answers the requests in the order they were sent, one per macrotask, like a busy actor.
  const settle = async () => {
    while (pending.length > 0) {
      const next = pending.shift()!;
      if (fail?.at === next.name) next.reject(fail.error);
      else next.resolve();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { stages, log, settle };
}

describe('drive', () => {
  it('sends each request once its input has arrived, in the schedule order, and sums busy time per stage', async () => {
    const { stages, log, settle } = fakeStages();
    const driven = drive(stages, stageZeroOrder('1f1b', 3), () => undefined);
    await settle();
    const result = await driven;
    // Answers come in sending order. L_c goes out when F_c answers; B_c when L_c answers;
    // and 1F1B holds F2 back until B0 has gone out.
    expect(log.join(' ')).toBe('F0 F1 L0 L1 B0 F2 B1 L2 B2');
    expect(result.last.map((r) => r.name)).toEqual(['L0', 'L1', 'L2']);
    expect(result.backward.map((r) => r.name)).toEqual(['B0', 'B1', 'B2']);
    expect(result.busy).toEqual([6, 3]);
  });

  it('stops at the first failure, tells onFailure once, waits for what was sent, and rejects with the cause', async () => {
    const died = new ActorDied({ worker: 1, actor: 'decoder', cause: 'worker 1 exited with code 1' });
    const { stages, log, settle } = fakeStages({ at: 'L0', error: died });
    let failures = 0;
    const driven = drive(stages, stageZeroOrder('gpipe', 3), () => failures++);
    const outcome = driven.then(
      () => undefined,
      (e: unknown) => e,
    );
    await settle();
    expect(await outcome).toBe(died);
    expect(failures).toBe(1);
    // Every forward went out at once (GPipe), and each last-stage request as its forward answered —
    // all before L0 failed; no backward went out.
    expect(log.join(' ')).toBe('F0 F1 F2 L0 L1 L2');
  });
});

describe('rootError', () => {
  it('prefers a dead worker, then an actor error, over the aborted all-reduces they cause', () => {
    const aborted = Object.assign(new Error('all-reduce aborted at replica 1'), { name: 'ReduceAborted' });
    const own = new Error('decoder: out of order');
    const died = new ActorDied({ worker: 0, cause: 'gone' });
    expect(rootError([aborted, own])).toBe(own);
    expect(rootError([aborted, own, died])).toBe(died);
    expect(rootError([aborted])).toBe(aborted);
  });
});
