/**
 * Stopped children, for real: a child process SIGSTOPped is noticed through
 * /proc once it has stayed stopped long enough (and one continued in time is
 * not), and a process host whose child is stopped dies with that cause
 * instead of leaving its callers waiting forever.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { paragenSystem, type ParagenSystem } from '../../actors/catalog.js';
import { ActorDied } from '../../src/actor/index.js';
import { procState, watchStopped } from '../../src/actor/stop-watch.js';
import { stopUnderProbe } from '../helpers/stopped.js';

const linux = existsSync('/proc/self/stat');
const children: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
const systems: ParagenSystem[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('procState', () => {
  it('reads the state after the command name, spaces and parentheses in the name included', () => {
    expect(procState('1234 (node) S 1 1234 1234 0 -1')).toBe('S');
    expect(procState('77 (my (odd) name) T 1 77 77')).toBe('T');
    expect(procState('garbage')).toBeUndefined();
  });
});

describe.skipIf(!linux)('watchStopped on a real child process', () => {
  it('calls back once the child has stayed stopped for the limit, and not for a short stop', async () => {
    const stopped = spawn('sleep', ['30']);
    const paused = spawn('sleep', ['30']);
    children.push(stopped, paused);
    const calls: string[] = [];
    watchStopped(stopped.pid, () => calls.push('stopped'), 400, 50);
    watchStopped(paused.pid, () => calls.push('paused'), 400, 50);
    stopped.kill('SIGSTOP');
    paused.kill('SIGSTOP');
    await sleep(150);
    paused.kill('SIGCONT');
    await sleep(900);
    expect(calls).toEqual(['stopped']);
  });
});

describe.skipIf(!linux)('a process host whose child is stopped', () => {
  it('dies within seconds with that cause, and a pending call rejects', async () => {
    const system = paragenSystem({ host: 'process', workers: 1 });
    systems.push(system);
    const { error, ms } = await stopUnderProbe(system);
    expect(error).toBeInstanceOf(ActorDied);
    expect((error as ActorDied).death.cause).toBe('worker 0 (process) was stopped (SIGSTOP or a freeze) for 3000 ms, and killed');
    expect(ms).toBeLessThan(6000);
  });
});
