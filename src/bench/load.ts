/**
 * Other processes' CPU use while a row is measured. On a 2-core machine one
 * busy neighbour (a test run, a compiler) takes half the machine and the row
 * reads low for reasons of its own; the bench says so beside the figure
 * rather than leave it to be believed.
 *
 * Linux only (/proc/stat): the machine's busy time minus this process's
 * (every worker thread included) and, for a baseline, its child's.
 */
import { existsSync, readFileSync } from 'node:fs';

/** CPU seconds: the whole machine's busy time, and this process's. */
export interface CpuMark {
  readonly machine: number;
  readonly own: number;
  /** Wall clock, ms (`performance.now`). */
  readonly at: number;
}

/** Clock ticks per second of /proc/stat (USER_HZ, 100 on every Linux build that matters). */
const USER_HZ = 100;
const STAT = '/proc/stat';

/** Now; undefined where there is no /proc/stat. */
export function cpuMark(): CpuMark | undefined {
  if (!existsSync(STAT)) return undefined;
  const line = readFileSync(STAT, 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = ticks.reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!;
  const { user, system } = process.cpuUsage();
  return { machine: busy / USER_HZ, own: (user + system) / 1e6, at: performance.now() };
}

/**
 * Cores' worth of CPU that other processes used between `from` and `to`
 * (0 = none, 1 = one core throughout); `childSeconds` is CPU of our own
 * children in that time. Undefined without marks.
 */
export function otherLoad(from: CpuMark | undefined, to: CpuMark | undefined, childSeconds = 0): number | undefined {
  if (!from || !to || to.at <= from.at) return undefined;
  const other = to.machine - from.machine - (to.own - from.own) - childSeconds;
  return Math.max(0, other / ((to.at - from.at) / 1000));
}

/** CPU seconds process `pid` has used (Linux: /proc/<pid>/stat); undefined when it cannot be read. */
export function processCpu(pid: number | undefined): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return undefined;
  // Fields after the command (which is in parentheses and may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}
