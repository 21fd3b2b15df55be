/**
 * Crash-safe file writes: write a temporary file beside the target, fsync it,
 * rename it over the target, fsync the directory. A reader sees the old file
 * or the new one, never half of one, even after a power cut.
 */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** `<prefix>-<pid>-<n>`: a temporary name unique within this process and across processes. */
export function tempName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * fsyncs a directory so a rename or a new entry in it survives a crash.
 * Some platforms cannot open a directory for syncing (Windows: EISDIR/EPERM);
 * there the rename's own ordering is all there is, so those codes are let pass.
 */
export async function fsyncDir(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/** Writes `data` to `path` and fsyncs it (no rename): for files inside a folder renamed later. */
export async function writeFileSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` atomically (temporary file, fsync, rename, fsync of the directory). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), tempName(`.${basename(path)}.tmp`));
  try {
    await writeFileSynced(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(dirname(path));
}
