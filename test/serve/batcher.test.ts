/**
 * The batcher on its own, with a real timer and a controllable `run`: batches
 * up to maxBatch images, never splits a request, keeps at most `slots`
 * batches in flight and refuses beyond `queue` waiting requests.
 */
import { describe, expect, it } from 'vitest';
import { Batcher, QueueFullError } from '../../src/serve/batcher.js';

interface Job {
  readonly id: number;
  readonly n: number;
}

/** A batcher whose batches finish only when the test says so. */
function controlled(options: { maxBatch: number; maxWaitMs: number; queue: number; slots: number }) {
  const batches: { jobs: readonly Job[]; finish: () => void }[] = [];
  const sizes: [number, number][] = [];
  const batcher = new Batcher<Job, string>({
    ...options,
    size: (job) => job.n,
    run: (jobs) =>
      new Promise((resolve) => batches.push({ jobs, finish: () => resolve(jobs.map((j) => `result ${j.id}`)) })),
    onBatch: (requests, images) => sizes.push([requests, images]),
  });
  return { batcher, batches, sizes };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('joins concurrent requests up to maxBatch images, in order, and answers each its own result', async () => {
    const { batcher, batches, sizes } = controlled({ maxBatch: 10, maxWaitMs: 0, queue: 100, slots: 1 });
    const first = batcher.submit({ id: 0, n: 4 });
    const rest = [1, 2, 3, 4].map((id) => batcher.submit({ id, n: 4 }));
    await settle();
    // The first goes out alone (a free worker, no wait); the others wait for it.
    expect(batches.map((b) => b.jobs.map((j) => j.id))).toEqual([[0]]);
    expect(batcher.depth).toBe(4);
    batches[0]!.finish();
    expect(await first).toBe('result 0');
    await settle();
    // 4 + 4 fit in 10, a third would not: requests are never split.
    expect(batches.map((b) => b.jobs.map((j) => j.id))).toEqual([[0], [1, 2]]);
    batches[1]!.finish();
    await settle();
    batches[2]!.finish();
    expect(await Promise.all(rest)).toEqual(['result 1', 'result 2', 'result 3', 'result 4']);
    expect(sizes).toEqual([[1, 4], [2, 8], [2, 8]]);
    await batcher.idle();
  });

  it('waits up to maxWaitMs for company before sending a batch that is not full', async () => {
    const { batcher, batches } = controlled({ maxBatch: 10, maxWaitMs: 20, queue: 100, slots: 1 });
    const a = batcher.submit({ id: 0, n: 3 });
    const b = batcher.submit({ id: 1, n: 3 });
    await settle();
    expect(batches).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(batches.map((x) => x.jobs.map((j) => j.id))).toEqual([[0, 1]]);
    batches[0]!.finish();
    expect(await Promise.all([a, b])).toEqual(['result 0', 'result 1']);
  });

  it('sends a full batch at once, and a request larger than maxBatch alone', async () => {
    const { batcher, batches } = controlled({ maxBatch: 10, maxWaitMs: 60_000, queue: 100, slots: 2 });
    const big = batcher.submit({ id: 0, n: 25 });
    await settle();
    expect(batches.map((x) => x.jobs.map((j) => j.id))).toEqual([[0]]);
    const full = [1, 2].map((id) => batcher.submit({ id, n: 5 }));
    await settle();
    expect(batches.map((x) => x.jobs.map((j) => j.id))).toEqual([[0], [1, 2]]);
    for (const x of batches) x.finish();
    await Promise.all([big, ...full]);
  });

  it('keeps at most `slots` batches in flight', async () => {
    const { batcher, batches } = controlled({ maxBatch: 1, maxWaitMs: 0, queue: 100, slots: 2 });
    const all = [0, 1, 2, 3].map((id) => batcher.submit({ id, n: 1 }));
    await settle();
    expect(batches).toHaveLength(2);
    expect(batcher.inFlight).toBe(2);
    batches[0]!.finish();
    await settle();
    expect(batches).toHaveLength(3);
    for (const x of batches.slice(1)) x.finish();
    await settle();
    batches[3]!.finish();
    await Promise.all(all);
    expect(batcher.inFlight).toBe(0);
  });

  it('refuses a request when `queue` requests already wait, and passes a failed batch on to each of its requests', async () => {
    // Each batch ends when the test says so (no timer: nothing depends on how fast the machine is).
    const pending: { jobs: readonly Job[]; resolve: (r: string[]) => void; reject: (e: Error) => void }[] = [];
    const batcher = new Batcher<Job, string>({
      maxBatch: 100,
      maxWaitMs: 0,
      queue: 2,
      slots: 1,
      size: (j) => j.n,
      run: (jobs) => new Promise((resolve, reject) => pending.push({ jobs, resolve, reject })),
    });
    const inFlight = batcher.submit({ id: 0, n: 1 });
    await settle();
    expect(pending).toHaveLength(1);
    const waiting = [batcher.submit({ id: 1, n: 1 }), batcher.submit({ id: 2, n: 1 })];
    await expect(batcher.submit({ id: 3, n: 1 })).rejects.toThrow(new QueueFullError(2));
    await expect(batcher.submit({ id: 3, n: 1 })).rejects.toThrow('the queue is full (2 requests waiting)');
    pending[0]!.reject(new Error('worker died'));
    await expect(inFlight).rejects.toThrow('worker died');
    await settle();
    expect(pending.map((b) => b.jobs.map((j) => j.id))).toEqual([[0], [1, 2]]);
    pending[1]!.resolve(pending[1]!.jobs.map((j) => String(j.id)));
    expect(await Promise.all(waiting)).toEqual(['1', '2']);
  });
});
