/**
 * A run directory: `config.json`, `metrics.jsonl`, `checkpoints/`, `samples/`,
 * `summary.json`, and `run.lock` while a process writes it.
 *
 * @example
 * const dir = await openRunDir({ model: config.model, out: config.out });
 * await dir.writeConfig(config);
 * dir.metrics.append({ step: 1, loss: 0.7 });
 * await dir.writeSummary({ steps: 1 });
 * await dir.close();
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errors } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { systemClock } from './clock.js';
import { loadConfigFile, mergeConfig, parseConfig, serializeConfig } from './config.js';
import { errnoOf, faultAs, fsFault, makeDirs } from './fs-fault.js';
import { FIELD_NAMES, field, type ConfigValues, type RunConfig } from './config-schema.js';
import { acquireLock, type LockOptions, type RunLock } from './lock.js';

export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const SUMMARY_FILE = 'summary.json';
/** The run's events but its steps and grids, one JSON line each with a wall-clock `time`: start (placement), restarts, warnings, checkpoints, end or error. */
export const EVENTS_FILE = 'events.jsonl';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `<model>-<YYYYMMDD-HHMMSS>` in local time, the default name of a run directory. */
export function defaultRunDirName(model: string, time: number): string {
  const d = new Date(time);
  const date = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
  const clock = `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return `${model}-${date}-${clock}`;
}

/**
 * `metrics.jsonl`: one JSON object per line. Each line is written straight to
 * the kernel (a synchronous write, no buffering in this process), so a crash of
 * the process loses nothing; `sync()` makes it survive a machine crash too.
 */
export class MetricsLog {
  #fd: number | undefined;

  constructor(readonly path: string) {
    this.#fd = openSync(path, 'a+');
    this.#dropPartialLastLine();
  }

  /** A process killed mid-write leaves half a line; cut it so the next line starts clean. */
  #dropPartialLastLine(): void {
    const fd = this.#fd!;
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const tail = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    if (tail[tail.length - 1] === 0x0a) return;
    const lastNewline = tail.lastIndexOf(0x0a);
    // A partial line longer than 64 KiB is not something paragen writes; keep the file as it is.
    if (lastNewline < 0 && tail.length < size) return;
    ftruncateSync(fd, size - tail.length + lastNewline + 1);
  }

  /** Appends one record as a line of JSON. */
  append(record: Readonly<Record<string, unknown>>): void {
    if (this.#fd === undefined) throw errors.internal(`metrics log ${this.path} is closed`);
    try {
      writeSync(this.#fd, `${JSON.stringify(record)}\n`);
    } catch (error) {
      // A short write leaves half a line, which the next open cuts.
      throw this.#fault(error);
    }
  }

  /** Flushes to disk (fsync); call it at checkpoints. */
  sync(): void {
    try {
      if (this.#fd !== undefined) fsyncSync(this.#fd);
    } catch (error) {
      throw this.#fault(error);
    }
  }

  #fault(error: unknown): unknown {
    return fsFault(error, { path: this.path, action: 'write the metrics log', runDir: dirname(this.path) }) ?? error;
  }

  /**
   * Drops the records of steps after `step`, for a resumed run that repeats
   * them from its checkpoint: the log then reads as if the run never stopped.
   * Records without a numeric `step` are kept. Returns how many were dropped.
   */
  async rewind(step: number): Promise<number> {
    this.close();
    const text = await readFile(this.path, 'utf8');
    const lines = text.split('\n').filter((line) => line.length > 0);
    const kept = lines.filter((line) => {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        // Not a line paragen wrote: not ours to delete.
        return true;
      }
      const s = (record as { step?: unknown } | null)?.step;
      return typeof s !== 'number' || s <= step;
    });
    await writeFileAtomic(this.path, kept.map((line) => `${line}\n`).join(''));
    this.#fd = openSync(this.path, 'a+');
    return lines.length - kept.length;
  }

  close(): void {
    if (this.#fd === undefined) return;
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

export interface OpenRunDirOptions extends LockOptions {
  /** Names the default directory, `runs/<model>-<timestamp>`. */
  readonly model: string;
  /** The directory to use instead of the default (`--out`, or the directory to `--resume`). */
  readonly out?: string;
  /** Parent of default run directories; `runs` (relative to the working directory) by default. */
  readonly root?: string;
  /** Continue an existing run: the directory must hold a `config.json`. */
  readonly resume?: boolean;
}

/** An open, locked run directory. */
export class RunDir {
  readonly metrics: MetricsLog;
  /** Appended across resumes: each invocation's start, restarts, warnings, checkpoints and end. */
  readonly events: MetricsLog;

  constructor(
    readonly path: string,
    readonly lock: RunLock,
  ) {
    this.metrics = new MetricsLog(join(path, METRICS_FILE));
    this.events = new MetricsLog(join(path, EVENTS_FILE));
  }

  get checkpointsDir(): string {
    return join(this.path, 'checkpoints');
  }

  get samplesDir(): string {
    return join(this.path, 'samples');
  }

  /** Writes the resolved config as `config.json` (atomically). */
  async writeConfig(config: RunConfig): Promise<void> {
    const path = join(this.path, CONFIG_FILE);
    await faultAs({ path, action: 'write the config', runDir: this.path }, () => writeFileAtomic(path, serializeConfig(config)));
  }

  /** Reads and validates this run's `config.json`. */
  readConfig(): Promise<RunConfig> {
    return readRunConfig(this.path);
  }

  /** Writes `summary.json` atomically: a reader never sees half of it. */
  async writeSummary(summary: Readonly<Record<string, unknown>>): Promise<void> {
    const path = join(this.path, SUMMARY_FILE);
    const text = `${JSON.stringify(summary, null, 2)}\n`;
    await faultAs({ path, action: 'write the summary', runDir: this.path }, () => writeFileAtomic(path, text));
  }

  /** Flushes the metrics and releases the lock. */
  async close(): Promise<void> {
    this.metrics.close();
    this.events.close();
    await this.lock.release();
  }
}

/**
 * The values in a run directory's `config.json`, each checked but not yet
 * combined (for layering flags over a resumed run's config).
 */
export async function readRunConfigValues(dir: string): Promise<ConfigValues> {
  const path = join(dir, CONFIG_FILE);
  if (!(await exists(path))) throw errors.badFile(dir, `not a run directory (no ${CONFIG_FILE})`);
  return loadConfigFile(path);
}

/**
 * The one place a resume is merged: with `values.resume`, the run's own
 * `config.json` (less the fields that describe one invocation) overridden by
 * `values`; without it, `values` as they are.
 */
export async function withResumedRun(values: ConfigValues): Promise<ConfigValues> {
  if (values.resume === undefined) return values;
  const saved: Record<string, unknown> = { ...(await readRunConfigValues(values.resume)) };
  for (const name of FIELD_NAMES) if (field(name).transient) delete saved[name];
  return mergeConfig(saved as ConfigValues, values);
}

/** Reads and validates a run directory's `config.json`; problems name the file. */
export async function readRunConfig(dir: string): Promise<RunConfig> {
  return parseConfig(await readRunConfigValues(dir), { file: join(dir, CONFIG_FILE) });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/** Makes a fresh default directory; a second run started in the same second gets `-2`, `-3`, … */
async function makeDefaultDir(root: string, name: string): Promise<string> {
  await makeDirs(root).catch((error: unknown) => {
    throw fsFault(error, { path: root, action: 'create the runs folder' }) ?? error;
  });
  // Bounded: a thousand runs started within one second is not a real situation, an endless loop would be.
  for (let n = 1; n <= 1000; n++) {
    const path = join(root, n === 1 ? name : `${name}-${n}`);
    try {
      await mkdir(path);
      return path;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw fsFault(error, { path, action: 'create the run directory' }) ?? error;
    }
  }
  throw errors.badFile(root, `cannot create the run directory: ${name} to ${name}-1000 all exist`);
}

/**
 * Opens a run directory for writing: creates it (or checks it holds a run,
 * with `resume`), and takes its lock. Refuses a directory a live process is
 * writing, and a fresh `out` that already holds another run.
 */
export async function openRunDir(options: OpenRunDirOptions): Promise<RunDir> {
  let path: string;
  if (options.resume) {
    if (options.out === undefined) throw errors.internal('openRunDir: resume needs the directory in `out`');
    path = options.out;
    if (!(await exists(join(path, CONFIG_FILE)))) {
      throw errors.badFile(path, `not a run directory (no ${CONFIG_FILE})`);
    }
  } else if (options.out !== undefined) {
    path = options.out;
    await makeDirs(path).catch((error: NodeJS.ErrnoException) => {
      // A file where a folder should be is bad input (exit 2); the rest is the filesystem's (exit 5).
      const why: Record<string, string> = {
        EEXIST: 'it exists and is not a directory',
        ENOTDIR: 'a parent is not a directory',
      };
      if (error.code && why[error.code]) throw errors.badFile(path, `cannot create the run directory: ${why[error.code]}`);
      throw fsFault(error, { path, action: 'create the run directory' }) ?? error;
    });
  } else {
    const time = (options.clock ?? systemClock)();
    path = await makeDefaultDir(options.root ?? 'runs', defaultRunDirName(options.model, time));
  }
  const kept = options.resume ? path : undefined;
  const lock = await faultAs({ path: join(path, 'run.lock'), action: 'take the run lock', runDir: kept }, () =>
    acquireLock(path, options),
  );
  try {
    if (!options.resume && (await exists(join(path, CONFIG_FILE)))) throw errors.runExists(path);
    try {
      return new RunDir(path, lock);
    } catch (error) {
      throw fsFault(error, { path: join(path, METRICS_FILE), action: 'open the metrics log', runDir: kept }) ?? error;
    }
  } catch (error) {
    await lock.release();
    throw error;
  }
}
