/**
 * `run.lock`: one writer per run directory. The lock file holds the pid, host
 * and start time of its owner, and its mtime is a heartbeat that the owner
 * renews every few seconds (proper-lockfile's approach). A lock is stale, and
 * taken over with a warning, when its process is gone (same host: `kill(pid, 0)`)
 * or when its heartbeat is older than `staleMs`, whatever the host and pid say:
 * that covers a lock left by a container that restarted (pid 1 again, maybe
 * another hostname) and by a machine that is gone.
 *
 * Limits: the heartbeat compares the file's mtime with this machine's clock, so
 * hosts sharing a run directory need clocks within `staleMs` of each other.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { errors } from '../errors.js';
import { tempName } from './atomic.js';
import { systemClock, type Clock } from './clock.js';

export const LOCK_FILE = 'run.lock';
/** A lock whose heartbeat is older than this is stale. Long enough for a busy event loop, short enough to wait for. */
export const LOCK_STALE_MS = 30_000;
/** How often the owner renews its heartbeat. */
export const LOCK_HEARTBEAT_MS = 5_000;

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
  /** Heartbeat age after which a lock is stale; `LOCK_STALE_MS` by default. */
  readonly staleMs?: number;
  /** Interval of this lock's heartbeat; `LOCK_HEARTBEAT_MS` by default. */
  readonly heartbeatMs?: number;
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
  readonly #heartbeat: NodeJS.Timeout;

  constructor(
    readonly path: string,
    readonly info: LockInfo,
    /** The stale lock this one replaced, if any: worth telling the user. */
    readonly tookOverFrom: LockInfo | undefined,
    /** Why it was stale. */
    readonly staleBecause: string | undefined = undefined,
    heartbeatMs = LOCK_HEARTBEAT_MS,
  ) {
    // `process.exit(130)` from a signal handler skips `finally` blocks; remove the lock then too.
    process.once('exit', this.#onExit);
    // unref'd: the heartbeat never holds the process open.
    this.#heartbeat = setInterval(() => void this.#beat(), heartbeatMs).unref();
  }

  /** One line for the user when this lock replaced a stale one. */
  takeOverNote(): string {
    const from = this.tookOverFrom;
    if (from === undefined) return '';
    const who = from.pid === 0 ? 'an unreadable lock' : `the lock of process ${from.pid} on host ${from.hostname}`;
    return `took over ${this.path} from ${who}: ${this.staleBecause ?? 'it was stale'}`;
  }

  /** Renews the mtime while the file is still ours; stops when it is not (released, deleted, or taken over). */
  async #beat(): Promise<void> {
    try {
      const text = await readFile(this.path, 'utf8');
      if (this.#released || !sameOwner(parseLock(text), this.info)) return this.#stopBeating();
      const now = new Date();
      await utimes(this.path, now, now);
    } catch {
      // A heartbeat that cannot be written only makes the lock look stale sooner; the run itself is unaffected.
      this.#stopBeating();
    }
  }

  #stopBeating(): void {
    clearInterval(this.#heartbeat);
  }

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stopBeating();
    process.removeListener('exit', this.#onExit);
    const text = await readFile(this.path, 'utf8').catch(ignoreMissing);
    if (text !== undefined && sameOwner(parseLock(text), this.info)) await unlink(this.path).catch(ignoreMissing);
  }

  /** `release()` for an exit handler, where nothing asynchronous runs. */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    this.#stopBeating();
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
 * takes over a stale one (its process is gone, its heartbeat is old, or the
 * file is not a lock).
 */
export async function acquireLock(dir: string, options: LockOptions = {}): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: options.pid ?? process.pid,
    hostname: options.hostname ?? osHostname(),
    startedAt: new Date((options.clock ?? systemClock)()).toISOString(),
  };
  const isAlive = options.isAlive ?? isProcessAlive;
  const clock = options.clock ?? systemClock;
  const staleMs = options.staleMs ?? LOCK_STALE_MS;
  let tookOverFrom: LockInfo | undefined;
  let staleBecause: string | undefined;
  // A few rounds: another process may take or drop the lock between our steps.
  for (let round = 0; round < 5; round++) {
    try {
      await createExclusive(path, `${JSON.stringify(info)}\n`);
      return new RunLock(path, info, tookOverFrom, staleBecause, options.heartbeatMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = await readFile(path, 'utf8').catch(ignoreMissing);
    if (text === undefined) continue;
    const holder = parseLock(text);
    const age = await heartbeatAge(path, clock);
    if (age === undefined) continue;
    let why: string;
    if (holder === undefined) why = 'it is not a paragen lock';
    else if (age > staleMs) why = `its heartbeat stopped ${Math.round(age / 1000)} s ago`;
    else if (holder.hostname !== info.hostname) {
      throw errors.runLockedElsewhere(dir, holder.pid, holder.hostname, Math.ceil((staleMs - age) / 1000));
    } else if (isAlive(holder.pid)) throw errors.runLocked(dir, holder.pid);
    else why = `process ${holder.pid} is gone`;
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
    const movedAge = await heartbeatAge(aside, clock);
    // Same owner, and a heartbeat no fresher than when judged (a live owner may have renewed it since).
    if (moved === text && movedAge !== undefined && (age <= staleMs || movedAge > staleMs)) {
      tookOverFrom = holder ?? { pid: 0, hostname: 'unknown', startedAt: 'unknown' };
      staleBecause = why;
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

/** Milliseconds since the lock file's last heartbeat (its mtime); undefined if it is gone. */
async function heartbeatAge(path: string, clock: Clock): Promise<number | undefined> {
  const info = await stat(path).catch(ignoreMissing);
  return info === undefined ? undefined : Math.max(0, clock() - info.mtimeMs);
}
