/**
 * Filesystem faults met by the real `paragen` executable: each ends the
 * process (never a hang: the child is killed after `LIMIT_MS` and the test
 * fails), with one line naming the path, what is kept and the fix, and the
 * filesystem exit code.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors.js';
import { loadLatestCheckpoint } from '../../src/run/checkpoint.js';
import { Child, main, root } from '../helpers/cli.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

const LIMIT_MS = 60_000;

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

/** Runs `paragen ...args`, killing it (and saying so) if it has not ended within `LIMIT_MS`. */
function paragenBounded(args: readonly string[]): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain before reading what they carried.
      setImmediate(() => resolve({ code, signal, stdout, stderr, hung }));
    });
  });
}

const train = ['train', '--model', 'vae-mlp', '--batch-size', '32', '--backend', 'wasm', '--sample-every', '0'];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-cli-faults-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('paragen train on a filesystem that refuses it', () => {
  it('--out /proc/x ends at once with one line and exit code 5 (Node\'s recursive mkdir spins there)', async () => {
    const r = await paragenBounded([...train, '--steps', '5', '--out', '/proc/paragen-x']);
    expect(r.hung).toBe(false);
    expect(r.code).toBe(EXIT.fileSystem);
    expect(r.stderr).toBe(
      '/proc/paragen-x: cannot create the run directory: the file system there does not allow it; nothing was written; ' +
        'choose an --out on a writable disk\n',
    );
  }, LIMIT_MS + 5000);

  it('--out /sys/x is one line, not the raw EPERM', async () => {
    const r = await paragenBounded([...train, '--steps', '5', '--out', '/sys/paragen-x']);
    expect(r.hung).toBe(false);
    expect(r.code).toBe(EXIT.fileSystem);
    // sysfs refuses with EPERM; a container may mount it read-only (EROFS) instead.
    expect(r.stderr).toMatch(
      /^\/sys\/paragen-x: cannot create the run directory: (the operating system does not permit it there|the file system is read-only|permission denied); nothing was written; choose an --out (you may write to|on a writable disk)\n$/,
    );
    expect(r.stderr).not.toContain('EPERM');
  }, LIMIT_MS + 5000);

  it('a full disk while writing a checkpoint: one line naming it, the earlier checkpoint kept and resumable', async (context) => {
    // A vae-mlp checkpoint is 7.6 MB: 12 MB holds one, not two.
    const fs = await mountTmpfs('12m');
    if ('refused' in fs) {
      console.warn(`skipped: ${fs.refused}`);
      return context.skip();
    }
    try {
      const out = join(fs.path, 'run');
      const r = await paragenBounded([...train, '--steps', '4', '--checkpoint-every', '2', '--out', out]);
      expect(r.hung).toBe(false);
      expect(r.code).toBe(EXIT.fileSystem);
      const line =
        `${out}/checkpoints/4: cannot write the checkpoint: no space left on the device; ` +
        `kept the last good checkpoint ${out}/checkpoints/2; free space on that disk, then resume: paragen train --resume ${out}`;
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(line);
      expect(r.stderr.split(line).length).toBe(2);
      expect(r.stderr).not.toMatch(/ENOSPC|\n\s+at /);
      // Nothing saved is lost: the step-2 checkpoint verifies, the unfinished one left no folder, the lock is gone.
      expect(await readdir(join(out, 'checkpoints'))).toEqual(['2']);
      expect(existsSync(join(out, 'run.lock'))).toBe(false);
      const { checkpoint, warnings } = await loadLatestCheckpoint(out);
      expect(warnings).toEqual([]);
      expect(checkpoint?.step).toBe(2);
      // Free space as the line says, and resume to the end.
      await promisify(execFile)('mount', ['-o', 'remount,size=24m', fs.path]);
      const resumed = await paragenBounded(['train', '--resume', out, '--json']);
      expect(resumed.code).toBe(0);
      expect(await readdir(join(out, 'checkpoints'))).toContain('4');
    } finally {
      await fs.unmount();
    }
  }, 2 * LIMIT_MS + 5000);
});

describe('signals', () => {
  it('a second SIGTERM ends the process at once with 143', async () => {
    const out = join(dir, 'run');
    const child = new Child([...train, '--json', '--steps', '100000', '--out', out]);
    await child.waitForEvent('step', (e) => (e['step'] as number) >= 2);
    child.process.kill('SIGTERM');
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(EXIT.sigterm);
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
  });
});
