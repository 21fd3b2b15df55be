/**
 * A small real tmpfs for full-disk tests (`mount -t tmpfs -o size=…`). Needs
 * root (or CAP_SYS_ADMIN); where the mount is refused, `mountTmpfs` resolves
 * with the reason instead, and the test skips saying so.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tmpfs {
  readonly path: string;
  unmount(): Promise<void>;
}

export async function mountTmpfs(size: string): Promise<Tmpfs | { readonly refused: string }> {
  const path = await mkdtemp(join(tmpdir(), 'paragen-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  } catch (error) {
    await rm(path, { recursive: true, force: true });
    const stderr = (error as { stderr?: string }).stderr?.trim();
    return { refused: `cannot mount a ${size} tmpfs (${stderr || (error as Error).message})` };
  }
  return {
    path,
    async unmount() {
      await run('umount', [path]);
      await rm(path, { recursive: true, force: true });
    },
  };
}
