/**
 * Other processes' CPU during a row: the arithmetic on made-up marks, and the
 * real readings on Linux.
 */
import { describe, expect, it } from 'vitest';
import { cpuMark, otherLoad, processCpu } from '../../src/bench/load.js';

describe('otherLoad', () => {
  it("is the machine's busy time less ours and our children's, in cores, over the wall time", () => {
    const from = { machine: 100, own: 10, at: 0 };
    const to = { machine: 106, own: 12, at: 4000 };
    // 6 s busy in 4 s; 2 s ours, 1 s a child's: 3 s others' → 0.75 cores.
    expect(otherLoad(from, to, 1)).toBe(0.75);
    expect(otherLoad(from, { ...to, machine: 101 })).toBe(0);
    expect(otherLoad(undefined, to)).toBeUndefined();
    expect(otherLoad(from, { ...to, at: 0 })).toBeUndefined();
  });

  it.runIf(process.platform === 'linux')('reads /proc on Linux: this process is busy, the others not much', () => {
    const from = cpuMark()!;
    const end = performance.now() + 300;
    let spin = 0;
    while (performance.now() < end) spin++;
    const to = cpuMark()!;
    expect(spin).toBeGreaterThan(0);
    expect(to.own - from.own).toBeGreaterThan(0.2);
    expect(otherLoad(from, to)).toBeGreaterThanOrEqual(0);
    expect(processCpu(process.pid)).toBeGreaterThan(0);
    expect(processCpu(2 ** 30)).toBeUndefined();
  });
});
