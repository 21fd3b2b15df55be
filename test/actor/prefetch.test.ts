/**
 * The prefetch bound, with the producer gated by hand: every production is a
 * promise the test resolves, so "slow" is exact and no test sleeps.
 */
import { describe, expect, it } from 'vitest';
import { Prefetcher } from '../../src/actor/prefetch.js';

/** A producer whose items the test releases one by one. */
function gatedProducer() {
  const pending = new Map<number, () => void>();
  let started = 0;
  return {
    produce: () => {
      const seq = started++;
      return new Promise<number>((resolve) => pending.set(seq, () => resolve(seq)));
    },
    /** Finishes production `seq` (default: the oldest still running). */
    release: (seq = Math.min(...pending.keys())) => {
      pending.get(seq)?.();
      pending.delete(seq);
    },
    get started() {
      return started;
    },
    get running() {
      return pending.size;
    },
  };
}

describe('Prefetcher', () => {
  it('starts `capacity` items at once and no more while nothing is taken', async () => {
    const gate = gatedProducer();
    const ahead = new Prefetcher(gate.produce, 3);
    expect(gate.started).toBe(3);
    gate.release();
    gate.release();
    gate.release();
    const stats = await ahead.settled();
    expect(stats).toEqual({ capacity: 3, outstanding: 3, producing: 0, started: 3, taken: 0 });
    expect(gate.started).toBe(3);
  });

  it('bounds a slow consumer: each take lets exactly one more item start', async () => {
    const produced: number[] = [];
    let next = 0;
    const ahead = new Prefetcher(async () => {
      produced.push(next);
      return next++;
    }, 2);
    const seen: number[] = [];
    const outstanding: number[] = [];
    for (let i = 0; i < 10; i++) {
      // The consumer is "slow": it takes only after the producer has done all it may.
      const stats = await ahead.settled();
      outstanding.push(stats.outstanding);
      expect(stats.started - stats.taken).toBeLessThanOrEqual(2);
      seen.push(await ahead.take());
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(outstanding).toEqual(Array(10).fill(2));
    // Ten taken, two waiting: the producer never ran further ahead.
    expect(produced).toHaveLength(12);
  });

  it('delivers in production order even when later items finish first', async () => {
    const gate = gatedProducer();
    const ahead = new Prefetcher(gate.produce, 2);
    const first = ahead.take();
    const second = ahead.take();
    expect(gate.started).toBe(4);
    gate.release(1);
    gate.release(0);
    expect(await first).toBe(0);
    expect(await second).toBe(1);
  });

  it('counts what is being produced toward the bound', () => {
    const gate = gatedProducer();
    const ahead = new Prefetcher(gate.produce, 4);
    expect(ahead.stats()).toEqual({ capacity: 4, outstanding: 4, producing: 4, started: 4, taken: 0 });
    void ahead.take();
    expect(ahead.stats()).toEqual({ capacity: 4, outstanding: 4, producing: 5, started: 5, taken: 1 });
    expect(gate.running).toBe(5);
  });

  it('reset drops every outstanding item and ignores productions started before it', async () => {
    let generation = 'old';
    const release: (() => void)[] = [];
    const ahead = new Prefetcher(() => {
      const tag = generation;
      return new Promise<string>((resolve) => release.push(() => resolve(tag)));
    }, 2);
    generation = 'new';
    ahead.reset();
    expect(ahead.stats()).toEqual({ capacity: 2, outstanding: 2, producing: 2, started: 2, taken: 0 });
    release.forEach((r) => r());
    expect(await ahead.settled()).toMatchObject({ producing: 0, outstanding: 2 });
    expect(await ahead.take()).toBe('new');
  });

  it('passes a production error to the take that receives it', async () => {
    let n = 0;
    const ahead = new Prefetcher(async () => {
      if (n++ === 1) throw new Error('bad batch');
      return n;
    }, 1);
    expect(await ahead.take()).toBe(1);
    await expect(ahead.take()).rejects.toThrow('bad batch');
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new Prefetcher(async () => 0, 0)).toThrow('prefetch must be a positive integer, got 0');
  });
});
