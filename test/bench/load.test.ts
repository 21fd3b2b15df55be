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

  it.runIf(process.platform === 'linux')('reads /proc on Linux: this process’s CPU time, within the machine’s', () => {
    const from = cpuMark()!;
    // Spin on CPU time, not wall time: on a loaded machine this thread may wait for a core.
    const start = process.cpuUsage();
    const used = () => {
      const { user, system } = process.cpuUsage(start);
      return (user + system) / 1e6;
    };
    while (used() < 0.1);
    const to = cpuMark()!;
    expect(to.own - from.own).toBeGreaterThanOrEqual(0.1);
    // /proc/stat counts in ticks of 10 ms: the machine's busy time holds ours, to a few ticks.
    expect(to.machine - from.machine).toBeGreaterThan(0.05);
    expect(otherLoad(from, to)).toBeGreaterThanOrEqual(0);
    expect(processCpu(process.pid)).toBeGreaterThan(0);
    expect(processCpu(2 ** 30)).toBeUndefined();
  });
});
