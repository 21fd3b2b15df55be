/**
 * Checkpoints: `checkpoints/<step>/` inside a run directory, each holding the
 * files the caller hands over (network artifacts, optimizer state, RNG state,
 * data cursor) and a `manifest.json` with the size and sha256 of every file.
 *
 * Writing is atomic: files go to a temporary folder inside `checkpoints/`, are
 * fsynced, and the folder is renamed to `<step>` (a rename within one
 * filesystem is atomic). So a `<step>` folder is either complete or absent;
 * a crash leaves only a temporary folder, which loading removes. Loading
 * verifies every checksum and falls back to the previous good checkpoint,
 * reporting each one it skips.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errors, show } from '../errors.js';
import { fsyncDir, tempName, writeFileSynced } from './atomic.js';
import { fsFault, makeDirs } from './fs-fault.js';

export const CHECKPOINTS_DIR = 'checkpoints';
export const MANIFEST_FILE = 'manifest.json';

/** Relative path (`generator/weights.bin`) → contents. Strings are written as UTF-8. */
export type CheckpointFiles =
  | Readonly<Record<string, Uint8Array | string>>
  | ReadonlyMap<string, Uint8Array | string>;

export interface CheckpointManifest {
  readonly format: 'paragen-checkpoint';
  readonly version: 1;
  readonly step: number;
  readonly files: Readonly<Record<string, { readonly bytes: number; readonly sha256: string }>>;
}

export interface WrittenCheckpoint {
  readonly step: number;
  readonly path: string;
  /** Total bytes of the files (manifest excluded). */
  readonly bytes: number;
  /** Steps of older checkpoints removed to keep the last `keep`. */
  readonly removed: readonly number[];
}

/** A checkpoint skipped because it failed verification, or debris of an unfinished write that was removed. */
export interface CheckpointWarning {
  readonly kind: 'corrupt' | 'leftover';
  readonly path: string;
  readonly message: string;
}

export interface LoadedCheckpoint {
  readonly step: number;
  readonly path: string;
  /** Every file the manifest lists, verified. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** A file decoded as UTF-8; throws if the checkpoint has no such file. */
  text(name: string): string;
}

export interface LoadResult {
  /** The newest checkpoint that verifies; undefined when there is none. */
  readonly checkpoint: LoadedCheckpoint | undefined;
  /** Every checkpoint skipped and every leftover removed, newest first. */
  readonly warnings: readonly CheckpointWarning[];
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const STEP_NAME = /^\d+$/;
const LEFTOVER_NAME = /^\.(tmp|old)-/;

/** Why a relative file name cannot be used inside a checkpoint, or undefined if it can. */
function badName(name: string): string | undefined {
  const segments = name.split('/');
  if (name === MANIFEST_FILE) return `${MANIFEST_FILE} is reserved`;
  if (name.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    return 'it must be a relative path inside the checkpoint';
  }
  return undefined;
}

function entries(files: CheckpointFiles): [string, Uint8Array][] {
  const list = files instanceof Map ? [...files] : Object.entries(files as Record<string, Uint8Array | string>);
  return list.map(([name, data]) => [name, typeof data === 'string' ? Buffer.from(data, 'utf8') : data]);
}

/** Steps of the complete checkpoints in `runDir`, ascending (verification not included). */
export async function listCheckpoints(runDir: string): Promise<number[]> {
  const names = await readdir(join(runDir, CHECKPOINTS_DIR)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names.filter((n) => STEP_NAME.test(n)).map(Number).sort((a, b) => a - b);
}

/**
 * Writes `files` as `checkpoints/<step>/` atomically, then removes all but the
 * newest `keep` checkpoints. Rewriting an existing step (a resumed run passing
 * it again) replaces it.
 */
export async function writeCheckpoint(
  runDir: string,
  step: number,
  files: CheckpointFiles,
  options: { readonly keep?: number } = {},
): Promise<WrittenCheckpoint> {
  const keep = options.keep ?? Infinity;
  if (!Number.isInteger(step) || step < 0) {
    throw errors.checkpoint(`checkpoint step must be a non-negative integer, got ${show(step)}`);
  }
  if (!(keep >= 1)) throw errors.checkpoint(`checkpoint keep must be a positive integer, got ${show(keep)}`);
  const list = entries(files);
  const problems = list.flatMap(([name]) => {
    const why = badName(name);
    return why ? [`checkpoint file name ${show(name)} is not allowed: ${why}`] : [];
  });
  if (problems.length > 0) throw errors.checkpoint(problems.join('\n'));

  const root = join(runDir, CHECKPOINTS_DIR);
  const target = join(root, String(step));
  const fault = (error: unknown) => fsFault(error, { path: target, action: 'write the checkpoint', runDir }) ?? error;
  await makeDirs(root).catch((error: unknown) => {
    throw fault(error);
  });
  const temp = join(root, tempName(`.tmp-${step}`));
  const manifest: { -readonly [K in keyof CheckpointManifest]: CheckpointManifest[K] } = {
    format: 'paragen-checkpoint',
    version: 1,
    step,
    files: {},
  };
  const dirs = new Set<string>([temp]);
  let bytes = 0;
  let movedAside: string | undefined;
  try {
    for (const [name, data] of list) {
      const path = join(temp, name);
      await makeDirs(dirname(path));
      dirs.add(dirname(path));
      await writeFileSynced(path, data);
      (manifest.files as Record<string, { bytes: number; sha256: string }>)[name] = {
        bytes: data.byteLength,
        sha256: sha256(data),
      };
      bytes += data.byteLength;
    }
    await writeFileSynced(join(temp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    // Deepest first, so each directory's entries are durable before its parent's.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(dir);

    const old = join(root, tempName(`.old-${step}`));
    const replacing = (await listCheckpoints(runDir)).includes(step);
    if (replacing) {
      await rename(target, old);
      movedAside = old;
    }
    await rename(temp, target);
    movedAside = undefined;
    await fsyncDir(root);
    if (replacing) await rm(old, { recursive: true, force: true });
  } catch (error) {
    // Free the space the unfinished write took, and put back a checkpoint moved aside for it.
    await rm(temp, { recursive: true, force: true });
    if (movedAside !== undefined) await rename(movedAside, target);
    throw fault(error);
  }

  const steps = await listCheckpoints(runDir);
  const removed = steps.slice(0, Math.max(0, steps.length - keep)).filter((s) => s !== step);
  for (const s of removed) await rm(join(root, String(s)), { recursive: true, force: true });
  return { step, path: join(root, String(step)), bytes, removed };
}

/** Reads and verifies one checkpoint folder; throws `errors.checkpoint` listing what is wrong. */
export async function verifyCheckpoint(path: string, step: number): Promise<LoadedCheckpoint> {
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(await readFile(join(path, MANIFEST_FILE), 'utf8')) as CheckpointManifest;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw errors.checkpoint(missing ? `${MANIFEST_FILE} is missing` : `${MANIFEST_FILE} is not valid JSON`);
  }
  if (
    typeof manifest !== 'object' ||
    manifest === null ||
    manifest.format !== 'paragen-checkpoint' ||
    manifest.version !== 1 ||
    typeof manifest.files !== 'object' ||
    manifest.files === null
  ) {
    throw errors.checkpoint(`${MANIFEST_FILE} is not a paragen checkpoint manifest`);
  }
  if (manifest.step !== step) throw errors.checkpoint(`${MANIFEST_FILE} is for step ${show(manifest.step)}`);

  const problems: string[] = [];
  const files = new Map<string, Uint8Array>();
  for (const [name, expected] of Object.entries(manifest.files)) {
    if (badName(name) !== undefined) {
      problems.push(`${MANIFEST_FILE} lists a file outside the checkpoint: ${show(name)}`);
      continue;
    }
    let data: Uint8Array;
    try {
      // A plain Uint8Array view, not a Buffer: callers hand `.buffer` to tfjs and compare bytes.
      const buffer = await readFile(join(path, name));
      data = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      problems.push(`${name} is missing`);
      continue;
    }
    if (data.byteLength !== expected?.bytes) {
      problems.push(`${name} has ${data.byteLength} bytes, the manifest says ${show(expected?.bytes)}`);
    } else if (sha256(data) !== expected.sha256) {
      problems.push(`${name} does not match its sha256 checksum`);
    } else {
      files.set(name, data);
    }
  }
  if (problems.length > 0) throw errors.checkpoint(problems.join('; '));
  return {
    step,
    path,
    files,
    text(name: string): string {
      const data = files.get(name);
      if (data === undefined) throw errors.checkpoint(`checkpoint ${path} has no file ${show(name)}`);
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    },
  };
}

/**
 * The newest checkpoint of `runDir` that verifies. Each newer one that fails is
 * reported in `warnings` (never skipped silently) and left in place for
 * inspection; temporary folders of unfinished writes are removed and reported.
 */
export async function loadLatestCheckpoint(runDir: string): Promise<LoadResult> {
  const root = join(runDir, CHECKPOINTS_DIR);
  const warnings: CheckpointWarning[] = [];
  const names = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  for (const name of names.filter((n) => LEFTOVER_NAME.test(n))) {
    const path = join(root, name);
    await rm(path, { recursive: true, force: true });
    warnings.push({
      kind: 'leftover',
      path,
      message: `removed ${path}, left by a checkpoint write that did not finish`,
    });
  }
  const steps = names.filter((n) => STEP_NAME.test(n)).map(Number).sort((a, b) => b - a);
  for (const step of steps) {
    const path = join(root, String(step));
    try {
      return { checkpoint: await verifyCheckpoint(path, step), warnings };
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'CHECKPOINT') throw error;
      warnings.push({
        kind: 'corrupt',
        path,
        message: `checkpoint ${path} is corrupt and was skipped: ${(error as Error).message}`,
      });
    }
  }
  return { checkpoint: undefined, warnings };
}
