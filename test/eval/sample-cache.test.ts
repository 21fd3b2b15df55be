/**
 * `sample()` keeps the networks it loaded: a second call on the same run does
 * not read the checkpoint again, a new checkpoint is noticed on the next
 * call, and repeated calls hold no more tensors than one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { clearModelCache } from '../../src/eval/model-cache.js';
import { sample } from '../../src/eval/sample.js';
import { createPart, modelSpec } from '../../src/models/index.js';
import { encodePart } from '../../src/models/state.js';
import { writeCheckpoint } from '../../src/run/checkpoint.js';
import { corrupt, writeRun } from './fixtures.js';

let root: string;

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'paragen-sample-cache-'));
});
afterAll(async () => {
  clearModelCache();
  await rm(root, { recursive: true, force: true });
});

describe('sample() model cache', () => {
  it('reads a checkpoint once, and again only when a new one appears', async () => {
    const run = await writeRun(join(root, 'vae'), { model: 'vae-mlp', seeds: [1] });
    const loads: string[] = [];
    const hooks = { onLoad: (checkpoint: string) => void loads.push(checkpoint) };
    const first = await sample({ run, n: 3, seed: 4, backend: 'wasm' }, hooks);
    const tensors = tf.memory().numTensors;
    const second = await sample({ run, n: 3, seed: 4, backend: 'wasm' }, hooks);
    await sample({ run, n: 3, seed: 5, backend: 'wasm' }, hooks);
    expect(loads).toEqual([join(run, 'checkpoints', '1')]);
    expect(second.images).toEqual(first.images);
    expect(tf.memory().numTensors).toBe(tensors);

    // The trainer writes checkpoint 2 with other weights: the next call serves it.
    const spec = modelSpec('vae-mlp');
    const files: Record<string, Uint8Array | string> = {};
    for (const name of spec.networks) {
      const part = createPart(spec, name, 9);
      Object.assign(files, await encodePart(part));
      part.dispose();
    }
    await writeCheckpoint(run, 2, files);
    const third = await sample({ run, n: 3, seed: 4, backend: 'wasm' }, hooks);
    expect(third.step).toBe(2);
    expect(loads).toEqual([join(run, 'checkpoints', '1'), join(run, 'checkpoints', '2')]);
    expect(third.images).not.toEqual(first.images);
    // The old networks were freed when the new ones came in.
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('notices a checkpoint rewritten in place, and repeats the warning of a skipped one on cached calls', async () => {
    const run = await writeRun(join(root, 'gan'), { model: 'dcgan-small', seeds: [1, 2] });
    const loads: string[] = [];
    const warnings: string[] = [];
    const hooks = { onLoad: (c: string) => void loads.push(c), onWarning: (m: string) => void warnings.push(m) };
    expect((await sample({ run, n: 1, backend: 'wasm' }, hooks)).step).toBe(2);
    corrupt(join(run, 'checkpoints', '2', 'generator', 'weights.bin'));
    expect((await sample({ run, n: 1, backend: 'wasm' }, hooks)).step).toBe(1);
    expect((await sample({ run, n: 1, backend: 'wasm' }, hooks)).step).toBe(1);
    expect(loads).toEqual([join(run, 'checkpoints', '2'), join(run, 'checkpoints', '1')]);
    const warning =
      `checkpoint ${join(run, 'checkpoints', '2')} is corrupt and was skipped: ` +
      'generator/weights.bin does not match its sha256 checksum';
    expect(warnings).toEqual([warning, warning]);
  });
});
