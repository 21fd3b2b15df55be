/**
 * The shared-memory all-reduce: every member gets the same sum in rank order
 * (whoever arrives first), the float64 total, and an abort wakes waiting
 * members. Members run in this thread here — the barriers wait with
 * `Atomics.waitAsync`, so they can — and in real worker threads in the
 * engine tests (data.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { abortGroup, createGroup, isAborted, Reducer, resetGroup } from '../../src/actor/collective/index.js';

/** Members' rows: member r holds r + 1 + i/8 at i (exact in float32). */
function fill(reducers: readonly Reducer[]): void {
  reducers.forEach((m, r) => m.row.forEach((_, i) => (m.row[i] = r + 1 + i / 8)));
}

describe('Reducer', () => {
  it('gives every member the element-wise sum, whatever the arrival order', async () => {
    const group = createGroup(3, 10);
    const members = [0, 1, 2].map((rank) => new Reducer({ ...group, rank }));
    fill(members);
    // The last rank first: arrival order must not matter.
    const results = await Promise.all([members[2]!.reduce(), members[0]!.reduce(), members[1]!.reduce()]);
    const expected = Array.from({ length: 10 }, (_, i) => 6 + (3 * i) / 8);
    for (const { sum, total } of results) {
      expect(Array.from(sum)).toEqual(expected);
      expect(total).toBe(expected.reduce((a, b) => a + b, 0));
    }
  });

  it('runs step after step on the same buffer', async () => {
    const group = createGroup(2, 5);
    const members = [0, 1].map((rank) => new Reducer({ ...group, rank }));
    for (let step = 1; step <= 3; step++) {
      members.forEach((m, r) => m.row.fill(step * (r + 1)));
      const [a, b] = await Promise.all(members.map((m) => m.reduce()));
      expect(Array.from(a!.sum)).toEqual(Array(5).fill(3 * step));
      expect(b!.total).toBe(15 * step);
    }
  });

  it('sums in rank order, as one float32 addition after another', async () => {
    const group = createGroup(3, 1);
    const members = [0, 1, 2].map((rank) => new Reducer({ ...group, rank }));
    // (1 + 2^-24) rounds to 1 in float32; so does the next addition: rank order decides.
    members[0]!.row[0] = 1;
    members[1]!.row[0] = 2 ** -24;
    members[2]!.row[0] = 2 ** -24;
    const [{ sum }] = await Promise.all(members.map((m) => m.reduce()));
    expect(sum![0]).toBe(1);
  });

  it('reports a non-finite total when any member contributes NaN or Infinity', async () => {
    const group = createGroup(2, 4);
    const members = [0, 1].map((rank) => new Reducer({ ...group, rank }));
    fill(members);
    members[1]!.row[3] = Infinity;
    const results = await Promise.all(members.map((m) => m.reduce()));
    expect(results.map((r) => Number.isFinite(r.total))).toEqual([false, false]);
  });

  it('wakes waiting members with ReduceAborted, and works again after a reset', async () => {
    const group = createGroup(2, 3);
    const [first, second] = [0, 1].map((rank) => new Reducer({ ...group, rank }));
    const waiting = first!.reduce();
    abortGroup(group);
    expect(isAborted(group)).toBe(true);
    await expect(waiting).rejects.toMatchObject({ name: 'ReduceAborted', message: 'all-reduce aborted at replica 0' });
    await expect(second!.reduce()).rejects.toMatchObject({ name: 'ReduceAborted' });
    resetGroup(group);
    expect(isAborted(group)).toBe(false);
    first!.row.fill(1);
    second!.row.fill(2);
    const [a] = await Promise.all([first!.reduce(), second!.reduce()]);
    expect(Array.from(a!.sum)).toEqual([3, 3, 3]);
  });

  it('refuses a rank outside its group and an empty group', () => {
    const group = createGroup(2, 3);
    expect(() => new Reducer({ ...group, rank: 2 })).toThrow('replica rank must be an integer in [0, 2), got 2');
    expect(() => createGroup(0, 3)).toThrow('replicas must be a positive integer, got 0');
    expect(() => createGroup(2, 0)).toThrow('gradient length must be a positive integer, got 0');
  });
});
