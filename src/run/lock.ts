/**
 * `run.lock`: one writer per run directory. The lock file holds the pid, host
 * and start time of its owner; a lock whose process is gone (killed, crashed)
 * is stale and is taken over, so a SIGKILLed run can be resumed without manual
 * clean-up.
 *
 * Limits: liveness is `kill(pid, 0)`, so a recycled pid looks alive (the user
 * is told which pid to check); a lock from another host cannot be checked and
 * is refused with a hint to delete it.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { errors } from '../errors.js';
import { tempName } from './atomic.js';
import { systemClock, type Clock } from './clock.js';

export const LOCK_FILE = 'run.lock';

/** What a lock file says about its owner. */
export interface LockInfo {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the lock was taken. */
  readonly startedAt: string;
}

export interface LockOptions {
  readonly clock?: Clock;
  /** The owner to record; this process by default. */
  readonly pid?: number;
  readonly hostname?: string;
  /** Liveness check for a pid on this host; `kill(pid, 0)` by default. */
  readonly isAlive?: (pid: number) => boolean;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A held lock. Release it with `release()`; it is also removed if the process exits normally. */
export class RunLock {
  #released = false;
  readonly #onExit = () => this.releaseSync();

  constructor(
    readonly path: string,
    readonly info: LockInfo,
    /** The stale lock this one replaced, if any: worth telling the user. */
    readonly tookOverFrom: LockInfo | undefined,
  ) {
    // `process.exit(130)` from a signal handler skips `finally` blocks; remove the lock then too.
    process.once('exit', this.#onExit);
  }

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    process.removeListener('exit', this.#onExit);
    const text = await readFile(this.path, 'utf8').catch(ignoreMissing);
    if (text !== undefined && sameOwner(parseLock(text), this.info)) await unlink(this.path).catch(ignoreMissing);
  }

  /** `release()` for an exit handler, where nothing asynchronous runs. */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    process.removeListener('exit', this.#onExit);
    try {
      if (sameOwner(parseLock(readFileSync(this.path, 'utf8')), this.info)) unlinkSync(this.path);
    } catch (error) {
      ignoreMissing(error);
    }
  }
}

function ignoreMissing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname, startedAt } = value as Record<string, unknown>;
    if (!Number.isInteger(pid) || typeof hostname !== 'string' || typeof startedAt !== 'string') return undefined;
    return { pid: pid as number, hostname, startedAt };
  } catch {
    // Not JSON: a file we did not write. Callers treat it as a stale lock.
    return undefined;
  }
}

function sameOwner(a: LockInfo | undefined, b: LockInfo): boolean {
  return a !== undefined && a.pid === b.pid && a.hostname === b.hostname && a.startedAt === b.startedAt;
}

/**
 * Creates `path` with `content` only if it does not exist, never leaving a
 * half-written lock: the content is written to a temporary file first and
 * hard-linked into place (link fails with EEXIST if the lock exists).
 */
async function createExclusive(path: string, content: string): Promise<void> {
  const temp = `${path}.${tempName('new')}`;
  await writeFile(temp, content);
  try {
    await link(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Filesystems without hard links: an exclusive create is the next best thing.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    await writeFile(path, content, { flag: 'wx' });
  } finally {
    await unlink(temp).catch(ignoreMissing);
  }
}

/**
 * Takes `dir/run.lock`. Throws `errors.runLocked` when a live process holds it;
 * takes over a stale one (its process is gone, or the file is not a lock).
 */
export async function acquireLock(dir: string, options: LockOptions = {}): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: options.pid ?? process.pid,
    hostname: options.hostname ?? osHostname(),
    startedAt: new Date((options.clock ?? systemClock)()).toISOString(),
  };
  const isAlive = options.isAlive ?? isProcessAlive;
  let tookOverFrom: LockInfo | undefined;
  // A few rounds: another process may take or drop the lock between our steps.
  for (let round = 0; round < 5; round++) {
    try {
      await createExclusive(path, `${JSON.stringify(info)}\n`);
      return new RunLock(path, info, tookOverFrom);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = await readFile(path, 'utf8').catch(ignoreMissing);
    if (text === undefined) continue;
    const holder = parseLock(text);
    if (holder && holder.hostname !== info.hostname) throw errors.runLockedElsewhere(dir, holder.pid, holder.hostname);
    if (holder && isAlive(holder.pid)) throw errors.runLocked(dir, holder.pid);
    // Stale. Move it aside rather than unlink it, and check that what we moved is
    // what we judged stale: a racing process may have replaced it with a live lock.
    const aside = `${path}.${tempName('stale')}`;
    try {
      await rename(path, aside);
    } catch (error) {
      ignoreMissing(error);
      continue;
    }
    const moved = await readFile(aside, 'utf8');
    if (moved === text) {
      tookOverFrom = holder ?? { pid: 0, hostname: 'unknown', startedAt: 'unknown' };
    } else {
      await link(aside, path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
    await unlink(aside);
  }
  const holder = parseLock((await readFile(path, 'utf8').catch(ignoreMissing)) ?? '');
  throw errors.runLocked(dir, holder?.pid ?? 0);
}
