import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, ParagenError } from '../../src/errors.js';
import { loadLatestCheckpoint, writeCheckpoint } from '../../src/run/checkpoint.js';
import { errnoOf, fsFault, makeDirs, newestCheckpoint } from '../../src/run/fs-fault.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-fsfault-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('makeDirs', () => {
  it('creates every missing level, and accepts a folder that exists', async () => {
    const deep = join(dir, 'a', 'b', 'c');
    await makeDirs(deep);
    await makeDirs(deep);
    expect(existsSync(deep)).toBe(true);
  });

  it('ends on /proc, where a recursive mkdir of Node never returns', async () => {
    const error = await rejection(makeDirs('/proc/paragen-x/y'));
    expect(errnoOf(error)).toBe('ENOENT');
  });

  it('refuses a file where a folder should be', async () => {
    await writeFile(join(dir, 'file'), '');
    expect(errnoOf(await rejection(makeDirs(join(dir, 'file'))))).toBe('EEXIST');
    expect(errnoOf(await rejection(makeDirs(join(dir, 'file', 'sub', 'deeper'))))).toBe('ENOTDIR');
  });
});

describe('fsFault', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });

  it('says the path, the reason, what is kept and the fix, in one line with the filesystem exit code', async () => {
    const fault = fsFault(enospc, { path: join(dir, 'checkpoints', '9'), action: 'write the checkpoint', runDir: dir })!;
    expect(fault).toBeInstanceOf(ParagenError);
    expect(fault.code).toBe('FILE_SYSTEM');
    expect(fault.exitCode).toBe(EXIT.fileSystem);
    expect(fault.message).toBe(
      `${dir}/checkpoints/9: cannot write the checkpoint: no space left on the device; no checkpoint was written yet; ` +
        `free space on that disk, then resume: paragen train --resume ${dir}`,
    );
    await writeCheckpoint(dir, 3, { 'a.bin': new Uint8Array(4) });
    await writeCheckpoint(dir, 12, { 'a.bin': new Uint8Array(4) });
    expect(newestCheckpoint(dir)).toBe(join(dir, 'checkpoints', '12'));
    expect(fsFault(enospc, { path: 'x', action: 'write the checkpoint', runDir: dir })!.message).toContain(
      `; kept the last good checkpoint ${dir}/checkpoints/12; `,
    );
  });

  it('reads the code of an error that crossed a worker thread as a bare message', () => {
    expect(errnoOf(new Error('EROFS: read-only file system, open \'/x\''))).toBe('EROFS');
    expect(fsFault(new Error('EROFS: read-only file system'), { path: '/x', action: 'write the samples' })!.message).toBe(
      '/x: cannot write the samples: the file system is read-only; nothing was written; choose an --out on a writable disk',
    );
  });

  it('leaves other errors alone', () => {
    expect(fsFault(new TypeError('boom'), { path: '/x', action: 'write' })).toBeUndefined();
    expect(fsFault(new ParagenError('CHECKPOINT', 'EIO: not an errno'), { path: '/x', action: 'write' })).toBeUndefined();
    expect(fsFault(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }), { path: '/x', action: 'write' })).toBeUndefined();
  });
});

describe('a checkpoint write that fails', () => {
  it('keeps the previous checkpoint loadable and removes its temporary folder', async () => {
    await writeCheckpoint(dir, 2, { 'net/weights.bin': new Uint8Array([1, 2, 3]) });
    // `net` written as a file, then `net/weights.bin` needs it as a folder: a real failure halfway through.
    const error = await rejection(
      writeCheckpoint(dir, 4, { net: 'a file', 'net/weights.bin': new Uint8Array([4, 5, 6]) }),
    );
    expect(error.message).toBe(
      `${dir}/checkpoints/4: cannot write the checkpoint: it exists and is not a directory; ` +
        `kept the last good checkpoint ${dir}/checkpoints/2; fix the disk, then resume: paragen train --resume ${dir}`,
    );
    expect(await readdir(join(dir, 'checkpoints'))).toEqual(['2']);
    const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
    expect(warnings).toEqual([]);
    expect(checkpoint?.step).toBe(2);
    expect([...checkpoint!.files.get('net/weights.bin')!]).toEqual([1, 2, 3]);
  });

  describe('on a full disk (a 1 MB tmpfs)', () => {
    let fs: Tmpfs | { refused: string };
    beforeAll(async () => {
      fs = await mountTmpfs('1m');
    });
    afterAll(async () => {
      if ('unmount' in fs) await fs.unmount();
    });

    it('fails with ENOSPC named as a line, the earlier checkpoint intact', async (context) => {
      if ('refused' in fs) {
        console.warn(`skipped: ${fs.refused}`);
        return context.skip();
      }
      const run = join(fs.path, 'run');
      const big = new Uint8Array(600 * 1024).fill(7);
      await writeCheckpoint(run, 1, { 'w.bin': big });
      const error = await rejection(writeCheckpoint(run, 2, { 'w.bin': big }));
      expect(error.message).toBe(
        `${run}/checkpoints/2: cannot write the checkpoint: no space left on the device; ` +
          `kept the last good checkpoint ${run}/checkpoints/1; free space on that disk, then resume: paragen train --resume ${run}`,
      );
      expect((error as ParagenError).exitCode).toBe(EXIT.fileSystem);
      expect(await readdir(join(run, 'checkpoints'))).toEqual(['1']);
      const { checkpoint } = await loadLatestCheckpoint(run);
      expect(checkpoint?.step).toBe(1);
      expect(checkpoint!.files.get('w.bin')!.byteLength).toBe(big.byteLength);
      // The space of the failed write is free again: the same write fits once the old one is gone.
      await rm(join(run, 'checkpoints', '1'), { recursive: true });
      expect((await writeCheckpoint(run, 2, { 'w.bin': big })).step).toBe(2);
    });
  });
});
