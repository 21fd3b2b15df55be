/**
 * run.lock's heartbeat: a lock left by a container that restarted or a host
 * that is gone is stale once its mtime is older than `staleMs`, whatever pid
 * and host it names; a fresh one is refused with the run-locked exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, ParagenError } from '../../src/errors.js';
import { acquireLock, LOCK_FILE, LOCK_STALE_MS } from '../../src/run/lock.js';
import { paragen } from '../helpers/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-heartbeat-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const lockOf = (pid: number, host: string) => `${JSON.stringify({ pid, hostname: host, startedAt: '2025-12-31T00:00:00.000Z' })}\n`;

/** Writes a lock whose last heartbeat was `ageMs` before `now`. */
async function writeLock(pid: number, host: string, ageMs: number, now = NOW): Promise<string> {
  const path = join(dir, LOCK_FILE);
  await writeFile(path, lockOf(pid, host));
  const beat = new Date(now - ageMs);
  await utimes(path, beat, beat);
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<ParagenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ParagenError);
  return error as ParagenError;
}

describe('a lock with an old heartbeat', () => {
  it('from another host that is gone is taken over, with a note saying so', async () => {
    await writeLock(1, 'container-gone', 300_000);
    const lock = await acquireLock(dir, { clock: () => NOW });
    expect(lock.tookOverFrom).toMatchObject({ pid: 1, hostname: 'container-gone' });
    expect(lock.takeOverNote()).toBe(
      `took over ${join(dir, LOCK_FILE)} from the lock of process 1 on host container-gone: its heartbeat stopped 300 s ago`,
    );
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('naming a live pid of this host (a restarted container is pid 1 again) is taken over too', async () => {
    await writeLock(1, hostname(), LOCK_STALE_MS + 1000);
    const lock = await acquireLock(dir, { clock: () => NOW, isAlive: () => true });
    expect(lock.takeOverNote()).toBe(
      `took over ${join(dir, LOCK_FILE)} from the lock of process 1 on host ${hostname()}: its heartbeat stopped ${LOCK_STALE_MS / 1000 + 1} s ago`,
    );
    await lock.release();
  });
});

describe('a lock with a fresh heartbeat', () => {
  it('from another host is refused with exit code 4, saying when it goes stale', async () => {
    await writeLock(1, 'other-host', 10_000);
    const error = await rejection(acquireLock(dir, { clock: () => NOW }));
    expect(error.code).toBe('RUN_LOCKED');
    expect(error.exitCode).toBe(EXIT.locked);
    expect(error.message).toBe(
      `run directory ${dir} is locked by process 1 on host other-host; if that run is gone, retry in 20 s (when its heartbeat is stale) or delete ${dir}/run.lock`,
    );
  });

  it('is kept fresh by its owner', async () => {
    const lock = await acquireLock(dir, { heartbeatMs: 10 });
    const past = new Date(Date.now() - 600_000);
    await utimes(lock.path, past, past);
    // Event-driven, not a time threshold: wait for the next beat to move the mtime forward.
    let mtime = (await stat(lock.path)).mtimeMs;
    for (let i = 0; i < 500 && mtime <= past.getTime(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      mtime = (await stat(lock.path)).mtimeMs;
    }
    expect(mtime).toBeGreaterThan(past.getTime());
    await lock.release();
  });
});

describe('paragen train --resume', () => {
  let sleeper: ChildProcess | undefined;
  afterEach(() => {
    sleeper?.kill('SIGKILL');
    sleeper = undefined;
  });

  const run = ['--model', 'vae-mlp', '--batch-size', '32', '--backend', 'wasm', '--sample-every', '0', '--json'];

  it('continues a run whose lock a vanished host left, and refuses one a live process holds (exit 4)', async () => {
    const out = join(dir, 'run');
    expect((await paragen(['train', ...run, '--steps', '2', '--out', out])).code).toBe(0);
    // The lock a killed container leaves: pid 1 on a host that no longer exists, last heartbeat 5 minutes ago.
    await writeFile(join(out, LOCK_FILE), lockOf(1, 'dead-container'));
    const old = new Date(Date.now() - 300_000);
    await utimes(join(out, LOCK_FILE), old, old);
    const resumed = await paragen(['train', '--resume', out, '--steps', '3', '--json']);
    expect(resumed.code).toBe(0);
    const warning = resumed.stdout.split('\n').find((l) => l.includes('"warning"'));
    expect(JSON.parse(warning!).message).toMatch(
      new RegExp(`^took over ${out}/run.lock from the lock of process 1 on host dead-container: its heartbeat stopped 30\\d s ago$`),
    );

    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e9)'], { stdio: 'ignore' });
    sleeper = live;
    await new Promise((resolve) => live.once('spawn', resolve));
    await writeFile(join(out, LOCK_FILE), lockOf(live.pid!, hostname()));
    const refused = await paragen(['train', '--resume', out, '--steps', '4']);
    expect(refused.code).toBe(EXIT.locked);
    expect(refused.stderr).toBe(`run directory ${out} is being written by live process ${live.pid}\n`);
  }, 60_000);
});
