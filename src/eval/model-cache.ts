/**
 * The trained networks `sample()` has loaded, kept between calls: reading a
 * checkpoint verifies the sha256 of every file and rebuilds the networks,
 * which costs far more than drawing a few images. An entry is keyed by the
 * run directory, the backend and the networks, and fingerprinted by the
 * run's checkpoint list and the newest checkpoint's file times, so a new (or
 * rewritten) checkpoint is noticed on the next call.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelSpec, NetworkName } from '../models/index.js';
import { CHECKPOINTS_DIR, listCheckpoints } from '../run/checkpoint.js';
import { openTrainedRun, type TrainedRun } from '../run/trained-run.js';

/** Runs kept at most; the least recently used goes first. */
const MAX_ENTRIES = 4;

interface Entry {
  readonly fingerprint: string;
  readonly run: Promise<TrainedRun>;
  /** Calls using the networks now: an evicted entry is freed when the last one ends. */
  users: number;
  evicted: boolean;
}

const entries = new Map<string, Entry>();

/** What changes when a checkpoint is written, renamed or rewritten: a few stat calls, no file reads. */
async function fingerprint(dir: string): Promise<string> {
  const steps = await listCheckpoints(dir);
  const newest = steps.at(-1);
  if (newest === undefined) return 'none';
  const folder = join(dir, CHECKPOINTS_DIR, String(newest));
  const files = await readdir(folder, { recursive: true }).catch(() => [] as string[]);
  const times = await Promise.all(files.map((f) => stat(join(folder, f)).then((s) => s.mtimeMs, () => 0)));
  return `${steps.join(',')}@${Math.max(0, ...times)}`;
}

function release(entry: Entry): void {
  if (entry.evicted && entry.users === 0) void entry.run.then((run) => run.dispose(), () => undefined);
}

function evict(key: string): void {
  const entry = entries.get(key);
  if (!entry) return;
  entries.delete(key);
  entry.evicted = true;
  release(entry);
}

export interface CachedRun {
  readonly run: TrainedRun;
  /** True when this call read the checkpoint from disk. */
  readonly loaded: boolean;
  /** Ends this call's use of the networks (they stay cached). */
  done(): void;
}

/**
 * The run's networks (`networks`, named `label` in the key) from the cache,
 * or read now. `onWarning` hears a skipped checkpoint's warning on every
 * call, cached or not.
 */
export async function cachedTrainedRun(
  dir: string,
  backend: string,
  label: string,
  networks: (spec: ModelSpec) => readonly NetworkName[],
  onWarning?: (message: string) => void,
): Promise<CachedRun> {
  const key = `${resolve(dir)}|${backend}|${label}`;
  const print = await fingerprint(dir).catch(() => 'unreadable');
  let entry = entries.get(key);
  let loaded = false;
  if (!entry || entry.fingerprint !== print) {
    evict(key);
    const run = openTrainedRun(dir, { networks, ...(onWarning ? { onWarning } : {}) });
    entry = { fingerprint: print, run, users: 0, evicted: false };
    entries.set(key, entry);
    loaded = true;
    // A failed load is not kept: the next call tries again.
    entry.run.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
  } else {
    // Most recently used last, so the first key is the one to drop.
    entries.delete(key);
    entries.set(key, entry);
  }
  while (entries.size > MAX_ENTRIES) evict(entries.keys().next().value!);
  const current = entry;
  current.users++;
  try {
    const run = await current.run;
    if (!loaded) for (const warning of run.warnings) onWarning?.(warning);
    return {
      run,
      loaded,
      done: () => {
        current.users--;
        release(current);
      },
    };
  } catch (error) {
    current.users--;
    throw error;
  }
}

/** Frees every cached network (the next `sample()` reads its checkpoint again). */
export function clearModelCache(): void {
  for (const key of [...entries.keys()]) evict(key);
}
