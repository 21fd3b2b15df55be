/**
 * Filesystem faults as one line: the path, what could not be done and why,
 * what is kept, and how to fix it (`errors.fileSystem`, exit code
 * `EXIT.fileSystem`). Also `makeDirs`, a bounded `mkdir -p`.
 */
import { readdirSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errors, ParagenError } from '../errors.js';

/**
 * The errno code of a failed system call: its `code`, or, for an error that
 * crossed a worker thread (structured clone keeps only the message), the
 * `ENOSPC:` that Node puts at the start of the message.
 */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || error instanceof ParagenError) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' ? /^(E[A-Z0-9]+): /.exec(message)?.[1] : undefined;
}

/** Why, in words, for the codes a run directory meets; undefined for codes that are not about the filesystem. */
const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EFBIG: 'the file is too large for the file system',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'the operating system does not permit it there',
  // mkdir in an existing folder of /proc: a virtual file system that holds no files of ours.
  ENOENT: 'the file system there does not allow it',
  EIO: 'an input/output error on the device',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent is not a directory',
  EEXIST: 'it exists and is not a directory',
};

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

export interface FaultContext {
  /** The file or folder the operation was for, as the user knows it. */
  readonly path: string;
  /** `create the run directory`, `write the checkpoint`, … */
  readonly action: string;
  /** The run directory, once there is one: what is kept is read from its checkpoints. */
  readonly runDir?: string;
}

/** The newest complete checkpoint folder of `runDir` (they appear by rename, so complete), or undefined. */
export function newestCheckpoint(runDir: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(join(runDir, 'checkpoints'));
  } catch (error) {
    // No checkpoints folder yet (or none readable): nothing is kept, which the message says.
    if (errnoOf(error) !== undefined) return undefined;
    throw error;
  }
  const steps = names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => b - a);
  return steps.length === 0 ? undefined : join(runDir, 'checkpoints', String(steps[0]));
}

/**
 * The one-line `ParagenError` for a failed filesystem call, or undefined when
 * `error` is not one (the caller rethrows it as it is).
 *
 * @example
 * // runs/a/checkpoints/40: cannot write the checkpoint: no space left on the device;
 * //   kept the last good checkpoint runs/a/checkpoints/20; free space on that disk, then resume: paragen train --resume runs/a
 */
export function fsFault(error: unknown, context: FaultContext): ParagenError | undefined {
  const code = errnoOf(error);
  const reason = code === undefined ? undefined : REASONS[code];
  if (code === undefined || reason === undefined) return undefined;
  const { path, action, runDir } = context;
  let kept: string;
  let fix: string;
  if (runDir === undefined) {
    kept = 'nothing was written';
    fix = NO_SPACE.has(code)
      ? 'free space on that disk or choose another --out'
      : code === 'EACCES' || code === 'EPERM'
        ? 'choose an --out you may write to'
        : 'choose an --out on a writable disk';
  } else {
    const last = newestCheckpoint(runDir);
    kept = last === undefined ? 'no checkpoint was written yet' : `kept the last good checkpoint ${last}`;
    const cure = NO_SPACE.has(code) ? 'free space on that disk' : code === 'EACCES' || code === 'EPERM' ? 'fix its permissions' : 'fix the disk';
    fix = `${cure}, then resume: paragen train --resume ${runDir}`;
  }
  return errors.fileSystem(path, action, reason, kept, fix, error);
}

/** Runs `work`, turning a filesystem error into its one line (others pass through). */
export async function faultAs<T>(context: FaultContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw fsFault(error, context) ?? error;
  }
}

/**
 * `mkdir -p` that ends. Node's `mkdir(path, { recursive: true })` never
 * returns for a path in /proc: mkdir answers ENOENT, Node creates the parent
 * (EEXIST) and tries the child again, forever, in a libuv thread that no
 * signal stops (the loop nodejs/node#27198 fixed for Windows only). Here each
 * level is tried at most twice, so the work is bounded by the path's depth.
 */
export async function makeDirs(path: string): Promise<void> {
  try {
    await mkdir(path);
    return;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST') {
      if ((await stat(path)).isDirectory()) return;
      throw error;
    }
    if (code !== 'ENOENT') throw error;
    const parent = dirname(path);
    // A root that does not exist, or a parent that exists (the file system refuses the child): no retry helps.
    if (parent === path || (await isDirectory(parent))) throw error;
  }
  await makeDirs(dirname(path));
  await mkdir(path).catch(async (error: unknown) => {
    // Another process made it between our two calls.
    if (errnoOf(error) === 'EEXIST' && (await isDirectory(path))) return;
    throw error;
  });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return false;
    throw error;
  }
}
