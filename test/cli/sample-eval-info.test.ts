/**
 * `paragen sample`, `eval` and `info` through the CLI entry point, on real
 * run directories in a temp folder (io injected, no child process).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { useBackend } from '../../src/backend/index.js';
import { readNpy } from '../../src/data/index.js';
import { corrupt, decodePng, miniMnist, writeRun } from '../eval/fixtures.js';

function capture(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env, isTTY: false };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function paragen(argv: string[], env: Record<string, string> = {}) {
  const c = capture(env);
  const code = await runCli(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

let root: string;
let data: string;
let gan: string;
let vae: string;

beforeAll(async () => {
  // Build the fixtures' networks on wasm too (and keep tfjs's cpu-backend banner out of the output).
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'paragen-cli-sample-'));
  data = miniMnist(join(root, 'mini'), 640, 200);
  gan = await writeRun(join(root, 'gan'), { model: 'dcgan-small', seeds: [1, 2], dataset: data });
  vae = await writeRun(join(root, 'vae'), { model: 'vae-mlp', seeds: [1], dataset: data });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('paragen sample', () => {
  it('writes a .png grid of N images', async () => {
    const out = join(root, 'grid.png');
    const r = await paragen(['sample', '--run', gan, '--n', '16', '--seed', '3', '--out', out, '--backend', 'wasm']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${out}: a grid of 16 images from ${gan} (dcgan-small, step 2, seed 3)\n`);
    const png = decodePng(readFileSync(out));
    expect([png.width, png.height]).toEqual([4 * 30 + 2, 4 * 30 + 2]);
  });

  it('writes a .npy of N×28×28 float32 in [0, 1], the same bytes for the same seed', async () => {
    const a = join(root, 'a.npy');
    const b = join(root, 'b.npy');
    const c = join(root, 'c.npy');
    for (const [out, seed] of [[a, '7'], [b, '7'], [c, '8']] as const) {
      const r = await paragen(['sample', '--run', vae, '--n', '5', '--seed', seed, '--out', out, '--backend', 'wasm']);
      expect(r.code).toBe(0);
    }
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
    const array = readNpy(a);
    expect([array.dtype, array.shape]).toEqual(['float32', [5, 28, 28]]);
    expect(Math.min(...array.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...array.data)).toBeLessThanOrEqual(1);
  });

  it.skipIf(!hasNumpy)('writes a .npy that numpy reads', async () => {
    const out = join(root, 'numpy.npy');
    expect((await paragen(['sample', '--run', gan, '--n', '6', '--out', out, '--backend', 'wasm'])).code).toBe(0);
    const script = `import numpy as np; a = np.load(${JSON.stringify(out)}); print(a.dtype, a.shape, bool(a.min() >= 0), bool(a.max() <= 1))`;
    const py = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe('float32 (6, 28, 28) True True');
  });

  it('prints one JSON object with --json', async () => {
    const out = join(root, 'json.npy');
    const r = await paragen(['sample', '--run', gan, '--n', '2', '--out', out, '--json', '--backend', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({
      shape: [2, 28, 28, 1],
      n: 2,
      seed: 0,
      run: gan,
      model: 'dcgan-small',
      step: 2,
      checkpoint: join(gan, 'checkpoints', '2'),
      backend: 'wasm',
      out,
      format: 'npy',
    });
  });

  it('warns on stderr and falls back past a corrupt checkpoint', async () => {
    const dir = await writeRun(join(root, 'corrupt'), { model: 'dcgan-small', seeds: [1, 2] });
    corrupt(join(dir, 'checkpoints', '2', 'generator', 'weights.bin'));
    const out = join(root, 'fallback.png');
    const r = await paragen(['sample', '--run', dir, '--n', '4', '--out', out, '--backend', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `warning: checkpoint ${join(dir, 'checkpoints', '2')} is corrupt and was skipped: ` +
        'generator/weights.bin does not match its sha256 checksum\n',
    );
    expect(r.stdout).toContain('(dcgan-small, step 1, seed 0)');
  });

  it('splits generation across --workers threads and writes the same images', async () => {
    const one = join(root, 'workers-1.npy');
    const two = join(root, 'workers-2.npy');
    // 300 images: two 256-image batches, one per worker.
    for (const [workers, out] of [['1', one], ['2', two]] as const) {
      const r = await paragen(['sample', '--run', gan, '--n', '300', '--out', out, '--workers', workers, '--backend', 'wasm']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
    }
    expect(readFileSync(two).equals(readFileSync(one))).toBe(true);
  });

  it('refuses bad input with one line and exit code 2, writing nothing', async () => {
    const empty = await writeRun(join(root, 'empty'), { model: 'vae-mlp', seeds: [] });
    const nowhere = join(root, 'nowhere');
    const cases: [string[], string][] = [
      [['sample', '--run', gan], '--out <file.png|file.npy> is required\n'],
      [
        ['sample', '--run', gan, '--out', join(root, 'x.jpg')],
        `--out must be a file name ending in .png (a grid) or .npy (an array), got '${join(root, 'x.jpg')}'\n`,
      ],
      [['sample', '--run', nowhere, '--out', join(root, 'y.png')], `${nowhere}: no such run directory\n`],
      [['sample', '--run', empty, '--out', join(root, 'z.png')], `${empty}: the run has no checkpoint yet (nothing in checkpoints/)\n`],
      [['sample', '--run', gan, '--n', '0', '--out', join(root, 'w.png')], '--n must be a positive integer, got 0\n'],
      [['eval', '--run', nowhere], `${nowhere}: no such run directory\n`],
      [['eval', '--run', empty], `${empty}: the run has no checkpoint yet (nothing in checkpoints/)\n`],
    ];
    for (const [argv, message] of cases) {
      const r = await paragen([...argv, '--backend', 'wasm']);
      expect(r).toEqual({ code: 2, stdout: '', stderr: message });
    }
    for (const file of ['x.jpg', 'y.png', 'z.png', 'w.png']) expect(existsSync(join(root, file))).toBe(false);
  });
});

describe('paragen eval', () => {
  it("prints a VAE's negative ELBO and its terms", async () => {
    const json = await paragen(['eval', '--run', vae, '--json', '--backend', 'wasm']);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(r).toMatchObject({ kind: 'vae', model: 'vae-mlp', step: 1, testImages: 200, dataset: 'mini', seed: 0 });
    expect(r['negElbo'] as number).toBeCloseTo((r['bce'] as number) + (r['kl'] as number), 3);
    const text = await paragen(['eval', '--run', vae, '--backend', 'wasm']);
    expect(text.stdout).toMatch(
      new RegExp(`^run {6}${vae} \\(vae-mlp, step 1\\)\\nnegElbo {2}\\d+\\.\\d\\d nats per test image \\(bce \\d+\\.\\d\\d \\+ kl \\d+\\.\\d\\d\\), 200 test images of mini, seed 0\\n$`),
    );
  });

  it('trains and caches the classifier first for a GAN, saying so on stderr, then scores 10,000 samples', async () => {
    const cache = join(root, 'cache');
    const r = await paragen(['eval', '--run', gan, '--json', '--backend', 'wasm'], { PARAGEN_CACHE: cache });
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^training the classifier behind inceptionScore and fid, once \\(it is cached in ${cache}/classifier-v1-[0-9a-f]{12}\\): 3 epochs over 640 images, a few minutes$`),
    );
    expect(lines.slice(1).every((l) => /^classifier: batch \d+\/30 \(\d+%\)/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^classifier: batch 30\/30 \(100%\)/);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      kind: 'gan',
      model: 'dcgan-small',
      step: 2,
      samples: 10_000,
      testImages: 200,
      real: { trainImages: 640 },
      classifier: { source: 'trained', epochs: 3, path: expect.stringContaining(cache) },
    });
    for (const key of ['inceptionScore', 'fid']) {
      expect(Number.isFinite(result[key])).toBe(true);
      expect(Number.isFinite((result['real'] as Record<string, number>)[key])).toBe(true);
    }
    expect(existsSync(join((result['classifier'] as { path: string }).path, 'model.json'))).toBe(true);
    // The whole path a user runs: 10,000 generated images, scored (tens of seconds on a busy 2-core machine).
  }, 180_000);
});

describe('paragen info', () => {
  it('prints one JSON object with the machine, the backends and the automatic choice', async () => {
    const r = await paragen(['info', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ node: process.version, tfjs: '4.22.0', gpu: { ready: expect.any(Boolean) } });
    expect((info['backends'] as { name: string }[]).map((b) => b.name)).toEqual(['gpu', 'webgpu', 'native', 'wasm', 'cpu']);
    expect(info['cpus']).toBeGreaterThan(0);
    expect(info['auto']).toMatchObject({ choice: 'auto', ok: true, reason: expect.any(String) });
    expect(typeof info['wasmSimd']).toBe('boolean');
    // Without tfjs-node-gpu installed, the GPU path names that package and its install command.
    const gpu = (info['backends'] as { name: string; installed: boolean }[])[0]!;
    if (!gpu.installed) {
      expect((info['gpu'] as { missing: string[] }).missing).toContain('@tensorflow/tfjs-node-gpu: npm i @tensorflow/tfjs-node-gpu');
    }
  });

  it('prints a readable table, and what an explicit --backend resolves to', async () => {
    const r = await paragen(['info', '--backend', 'cpu']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^paragen +\d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/\nauto picks +(gpu|native|wasm|cpu)\b/);
    expect(r.stdout).toMatch(/\n--backend cpu +cpu: chosen explicitly\n/);
    expect(r.stdout).toMatch(/\nbackend +installed +usable +detail\ngpu +(yes|no) +(yes|no) +\S/);
    expect(r.stdout).toMatch(/\nwasm +yes +(yes|no) /);
  });
});
