/**
 * The plain-tfjs baselines on their real pool threads: the DCGAN fails on
 * wasm with tfjs's own error, because nothing of paragen's is registered
 * there; the VAE trains and is timed; a step past the bound is cut off. And
 * a static check that the baseline side imports nothing but tfjs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBaseline } from '../../src/bench/baseline.js';
import type { WindowBudget } from '../../src/bench/measure.js';
import { loadDataset } from '../../src/data/index.js';

let images: Uint8Array;
beforeAll(() => {
  images = (loadDataset('mnist').train.images as Uint8Array).slice(0, 256 * 784);
});

const tiny: WindowBudget = { warmupSteps: 1, warmupSeconds: 0, windows: 2, windowSeconds: 0, maxSeconds: 30 };

describe('plain-tfjs baselines', () => {
  it('the DCGAN fails on wasm: tfjs has no Conv2DBackpropFilter there, and none of paragen is loaded', async () => {
    const r = await runBaseline({ model: 'dcgan-small', backend: 'wasm', batchSize: 8, budget: tiny, images, seed: 0 });
    expect(r.status).toBe('failed');
    expect(r.message).toBe("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'");
    expect(r.backend).toBe('wasm');
    expect(r.kernels).toContain('Conv2D');
    expect(r.kernels).not.toContain('Conv2DBackpropFilter');
    expect(r.throughput.steps).toBe(0);
  });

  it('the VAE trains on wasm and on cpu, timed in windows after a warm-up', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const r = await runBaseline({ model: 'vae-mlp', backend, batchSize: 32, budget: tiny, images, seed: 0 });
      expect(r).toMatchObject({ status: 'ok', message: '', backend });
      expect(r.throughput).toMatchObject({ steps: 3, warmupSteps: 1, truncated: false });
      expect(r.throughput.windows).toHaveLength(2);
      expect(r.throughput.samplesPerSec).toBeGreaterThan(0);
    }
  });

  it('kills a baseline whose step runs past the time bound, and says nothing was timed', async () => {
    const bound: WindowBudget = { warmupSteps: 0, warmupSeconds: 0, windows: 1, windowSeconds: 0, maxSeconds: 0.2 };
    const started = performance.now();
    // A DCGAN step at batch 64 on tfjs's cpu backend takes minutes.
    const r = await runBaseline({ model: 'dcgan', backend: 'cpu', batchSize: 64, budget: bound, images, seed: 0 });
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(r.status).toBe('partial');
    expect(r.throughput).toMatchObject({ steps: 0, truncated: true, samplesPerSec: 0 });
  });

  it('imports nothing but @tensorflow/tfjs, its wasm backend, node: modules and its own folder', () => {
    const folder = fileURLToPath(new URL('../../src/bench/plain/', import.meta.url));
    const seen = new Set<string>();
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(folder, file), 'utf8');
      const specifiers = [...source.matchAll(/(?:import|export)[^'";]*?from\s*'([^']+)'|import\s*'([^']+)'|import\(\s*'([^']+)'/g)].map(
        (m) => m[1] ?? m[2] ?? m[3],
      );
      for (const s of specifiers) {
        seen.add(s!);
        const allowed = s === '@tensorflow/tfjs' || s === '@tensorflow/tfjs-backend-wasm' || s!.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(s!);
        expect(allowed, `${file} imports ${s}`).toBe(true);
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', './models.js']));
  });
});
