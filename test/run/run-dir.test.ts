import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParagenError } from '../../src/errors.js';
import { parseConfig } from '../../src/run/config.js';
import { acquireLock, isProcessAlive, LOCK_FILE } from '../../src/run/lock.js';
import { defaultRunDirName, MetricsLog, openRunDir, readRunConfig } from '../../src/run/run-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-rundir-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<ParagenError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ParagenError);
    return error as ParagenError;
  }
  throw new Error('expected a rejection');
}

/** A live process that is not us: its pid holds a lock until we kill it. */
async function liveProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e9)'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  return child as ChildProcess & { pid: number };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const lockOf = (pid: number, host = hostname()) =>
  `${JSON.stringify({ pid, hostname: host, startedAt: '2025-01-01T00:00:00.000Z' })}\n`;

describe('openRunDir', () => {
  it('names the default directory runs/<model>-<YYYYMMDD-HHMMSS> from the injected clock', async () => {
    const time = new Date(2025, 0, 2, 3, 4, 5).getTime();
    expect(defaultRunDirName('vae-mlp', time)).toBe('vae-mlp-20250102-030405');
    const root = join(dir, 'runs');
    const a = await openRunDir({ model: 'vae-mlp', root, clock: () => time });
    const b = await openRunDir({ model: 'vae-mlp', root, clock: () => time });
    expect(a.path).toBe(join(root, 'vae-mlp-20250102-030405'));
    expect(b.path).toBe(join(root, 'vae-mlp-20250102-030405-2'));
    await a.close();
    await b.close();
  });

  it('creates --out, writes config.json, and reads it back validated', async () => {
    const out = join(dir, 'nested', 'run');
    const run = await openRunDir({ model: 'dcgan', out });
    const config = parseConfig({ model: 'dcgan', steps: 10, out });
    await run.writeConfig(config);
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toEqual(config);
    expect(await run.readConfig()).toEqual(config);
    await run.close();
  });

  it('names config.json in the problems of a bad one', async () => {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model: 'dcgan', batchSize: 0, epochs: 1, steps: 2 }));
    const error = await rejection(readRunConfig(dir));
    expect(error.message).toBe(`${join(dir, 'config.json')}: batchSize must be a positive integer, got 0`);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model: 'dcgan', epochs: 1, steps: 2 }));
    expect((await rejection(readRunConfig(dir))).message).toBe(
      `${join(dir, 'config.json')}: epochs and steps cannot both be set, got epochs 1 and steps 2`,
    );
  });

  it('refuses a fresh --out that already holds a run, and releases the lock it took', async () => {
    await writeFile(join(dir, 'config.json'), '{}');
    const error = await rejection(openRunDir({ model: 'dcgan', out: dir }));
    expect(error.code).toBe('RUN_EXISTS');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `run directory ${dir} already holds a run; pass --resume ${dir} to continue it, or choose another --out`,
    );
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('says why --out cannot be created', async () => {
    const file = join(dir, 'file');
    await writeFile(file, '');
    expect((await rejection(openRunDir({ model: 'dcgan', out: file }))).message).toBe(
      `${file}: cannot create the run directory: it exists and is not a directory`,
    );
    expect((await rejection(openRunDir({ model: 'dcgan', out: join(file, 'sub') }))).message).toBe(
      `${join(file, 'sub')}: cannot create the run directory: a parent is not a directory`,
    );
  });

  it('resumes only a directory that holds a run', async () => {
    const error = await rejection(openRunDir({ model: 'dcgan', out: dir, resume: true }));
    expect(error.message).toBe(`${dir}: not a run directory (no config.json)`);
    await writeFile(join(dir, 'config.json'), '{}');
    const run = await openRunDir({ model: 'dcgan', out: dir, resume: true });
    expect(run.path).toBe(dir);
    await run.close();
  });
});

describe('run.lock', () => {
  it('records the owner and is removed on close', async () => {
    const run = await openRunDir({ model: 'dcgan', out: dir, clock: () => Date.UTC(2025, 5, 1) });
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toEqual({
      pid: process.pid,
      hostname: hostname(),
      startedAt: '2025-06-01T00:00:00.000Z',
    });
    expect(run.lock.tookOverFrom).toBeUndefined();
    await run.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('refuses a directory that this live process already holds', async () => {
    const run = await openRunDir({ model: 'dcgan', out: dir });
    const error = await rejection(openRunDir({ model: 'dcgan', out: dir }));
    expect(error.code).toBe('RUN_LOCKED');
    expect(error.exitCode).toBe(4);
    expect(error.message).toBe(`run directory ${dir} is being written by live process ${process.pid}`);
    await run.close();
  });

  it('refuses a lock held by another live process, and takes it over once that process is dead', async () => {
    const child = await liveProcess();
    try {
      await writeFile(join(dir, LOCK_FILE), lockOf(child.pid));
      expect(isProcessAlive(child.pid)).toBe(true);
      const error = await rejection(openRunDir({ model: 'dcgan', out: dir }));
      expect(error.message).toBe(`run directory ${dir} is being written by live process ${child.pid}`);
    } finally {
      await kill(child);
    }
    expect(isProcessAlive(child.pid)).toBe(false);
    const run = await openRunDir({ model: 'dcgan', out: dir });
    expect(run.lock.tookOverFrom?.pid).toBe(child.pid);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    expect((await readdir(dir)).sort()).toEqual(['events.jsonl', 'metrics.jsonl', 'run.lock']);
    await run.close();
  });

  it('refuses a lock from another host while its heartbeat is fresh, saying how to clear it', async () => {
    await writeFile(join(dir, LOCK_FILE), lockOf(4242, 'other-host'));
    const error = await rejection(acquireLock(dir));
    expect(error.message).toMatch(
      new RegExp(`^run directory ${dir} is locked by process 4242 on host other-host; if that run is gone, retry in (30|29) s \\(when its heartbeat is stale\\) or delete ${dir}/run.lock$`),
    );
    expect(error.exitCode).toBe(4);
  });

  it('treats a lock file that is not a lock as stale', async () => {
    await writeFile(join(dir, LOCK_FILE), 'garbage');
    const lock = await acquireLock(dir);
    expect(lock.tookOverFrom).toEqual({ pid: 0, hostname: 'unknown', startedAt: 'unknown' });
    await lock.release();
  });

  it('uses the injected liveness check', async () => {
    await writeFile(join(dir, LOCK_FILE), lockOf(999_999));
    const error = await rejection(acquireLock(dir, { isAlive: () => true }));
    expect(error.message).toBe(`run directory ${dir} is being written by live process 999999`);
  });

  it('does not remove a lock another process has taken since', async () => {
    const lock = await acquireLock(dir);
    await writeFile(join(dir, LOCK_FILE), lockOf(1234));
    await lock.release();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(lockOf(1234));
    const again = await acquireLock(dir, { isAlive: () => false });
    again.releaseSync();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });
});

describe('run.lock across processes', () => {
  const viteNode = fileURLToPath(new URL('../../node_modules/vite-node/vite-node.mjs', import.meta.url));
  const fixture = fileURLToPath(new URL('./fixtures/hold-lock.ts', import.meta.url));

  /** Starts a process that takes the lock of `dir`; resolves once it holds it. */
  async function holder(mode: 'exit' | 'wait'): Promise<{ child: ChildProcess; pid: number }> {
    const child = spawn(process.execPath, [viteNode, fixture, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        const match = /locked (\d+)/.exec(chunk.toString());
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`holder exited with ${code} before locking`)));
    });
    return { child, pid };
  }

  it('is removed when its process exits through process.exit (as after SIGINT)', async () => {
    const { child } = await holder('exit');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('is left behind by a SIGKILLed process, refused while it lives and taken over after', async () => {
    const { child, pid } = await holder('wait');
    const error = await rejection(openRunDir({ model: 'dcgan', out: dir }));
    expect(error.message).toBe(`run directory ${dir} is being written by live process ${pid}`);
    await kill(child);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(pid);
    const run = await openRunDir({ model: 'dcgan', out: dir });
    expect(run.lock.tookOverFrom?.pid).toBe(pid);
    await run.close();
  });
});

describe('metrics.jsonl and summary.json', () => {
  it('has each line on disk as soon as it is appended (no buffering in the process)', async () => {
    const run = await openRunDir({ model: 'dcgan', out: dir });
    run.metrics.append({ step: 1, loss: 0.5 });
    run.metrics.append({ step: 2, loss: Number.NaN });
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe('{"step":1,"loss":0.5}\n{"step":2,"loss":null}\n');
    await run.close();
    expect(() => run.metrics.append({ step: 3 })).toThrow(`metrics log ${join(dir, 'metrics.jsonl')} is closed`);
  });

  it('cuts a half-written last line left by a killed process', async () => {
    const path = join(dir, 'metrics.jsonl');
    await writeFile(path, '{"step":1}\n{"step":2,"lo');
    const log = new MetricsLog(path);
    log.append({ step: 2 });
    log.close();
    expect(readFileSync(path, 'utf8')).toBe('{"step":1}\n{"step":2}\n');
  });

  it('rewinds to a checkpoint step for a resumed run', async () => {
    const path = join(dir, 'metrics.jsonl');
    await writeFile(path, '{"type":"start"}\n{"step":1}\n{"step":2}\n{"step":3}\nnot json\n');
    const log = new MetricsLog(path);
    expect(await log.rewind(2)).toBe(1);
    log.append({ step: 3, again: true });
    log.close();
    expect(readFileSync(path, 'utf8')).toBe('{"type":"start"}\n{"step":1}\n{"step":2}\nnot json\n{"step":3,"again":true}\n');
  });

  it('writes summary.json atomically, leaving no temporary file', async () => {
    const run = await openRunDir({ model: 'dcgan', out: dir });
    await run.writeSummary({ steps: 10, samplesPerSec: 123.5 });
    await run.writeSummary({ steps: 20, samplesPerSec: 124 });
    expect(JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'))).toEqual({ steps: 20, samplesPerSec: 124 });
    await run.close();
    expect((await readdir(dir)).sort()).toEqual(['events.jsonl', 'metrics.jsonl', 'summary.json']);
  });

  it('gives the checkpoint and sample folders their paths', async () => {
    await mkdir(join(dir, 'x'));
    const run = await openRunDir({ model: 'dcgan', out: join(dir, 'x') });
    expect(run.checkpointsDir).toBe(join(dir, 'x', 'checkpoints'));
    expect(run.samplesDir).toBe(join(dir, 'x', 'samples'));
    await run.close();
  });
});
