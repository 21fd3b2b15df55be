/**
 * Each model's step on webgpu against the cpu backend: the same weights, the
 * same plan, the same batch; every gradient within 1e-4 relative. Batch 2
 * keeps a software device fast enough.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import type { NetworkPart } from '../../src/models/part.js';
import { createParts, modelSpec, type GanSpec, type VaeSpec } from '../../src/models/registry.js';
import { ganGradients, planGanStep, planVaeStep, vaeGradients } from '../../src/models/steps.js';
import { Rng } from '../../src/rng.js';
import { patterns } from '../models/tiny.js';
import { noWebgpu } from './adapter.js';

const BATCH = 2;
const TOLERANCE = 1e-4;

/** Losses and gradients of one step of `model` on the active backend, read back. */
async function step(model: 'dcgan' | 'dcgan-small' | 'vae-mlp' | 'vae-conv'): Promise<{ losses: number[]; grads: Float32Array[] }> {
  const spec = modelSpec(model);
  const x = tf.tensor4d(spec.kind === 'gan' ? patterns(BATCH, 28, -1, 1) : patterns(BATCH, 28), [BATCH, 28, 28, 1]);
  const rng = new Rng(4);
  let parts: NetworkPart[];
  let out: { losses: tf.Tensor[]; grads: tf.Tensor[] };
  if (spec.kind === 'gan') {
    const p = createParts(spec as GanSpec, 3);
    parts = Object.values(p);
    const g = ganGradients(p, x, planGanStep(rng, BATCH, (spec as GanSpec).noiseDim));
    out = { losses: [g.dLoss, g.gLoss], grads: [...g.generatorGrads, ...g.discriminatorGrads] };
  } else {
    const p = createParts(spec as VaeSpec, 3);
    parts = Object.values(p);
    const v = vaeGradients(p, x, planVaeStep(rng, BATCH, (spec as VaeSpec).latentDim));
    out = { losses: [v.loss, v.bce, v.kl], grads: [...v.encoderGrads, ...v.decoderGrads] };
  }
  try {
    const losses = await Promise.all(out.losses.map(async (t) => (await t.data())[0]!));
    const grads = await Promise.all(out.grads.map(async (t) => (await t.data()) as Float32Array));
    return { losses, grads };
  } finally {
    tf.dispose([x, ...out.losses, ...out.grads]);
    parts.forEach((p) => p.dispose());
  }
}

/** max |a − b| / max |b|, per gradient tensor, worst over tensors. */
function worstRelative(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let worst = 0;
  b.forEach((y, k) => {
    const x = a[k]!;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < y.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(y[i]!));
    }
    worst = Math.max(worst, scale === 0 ? diff : diff / scale);
  });
  return worst;
}

describe.skipIf(noWebgpu)('a step on webgpu against the cpu backend', () => {
  beforeAll(async () => {
    await useBackend('webgpu');
  });
  afterAll(async () => {
    await useBackend('cpu');
  });

  // The full dcgan on the pure-JavaScript cpu backend takes minutes on two cores: its
  // reference is wasm, whose kernels test/backend/wasm-kernels.test.ts checks against cpu.
  it.each([
    { model: 'dcgan-small', reference: 'cpu' },
    { model: 'dcgan', reference: 'wasm' },
    { model: 'vae-mlp', reference: 'cpu' },
    { model: 'vae-conv', reference: 'cpu' },
  ] as const)('$model: every gradient within 1e-4 relative of $reference', async ({ model, reference: backend }) => {
    await useBackend(backend);
    const reference = await step(model);
    await useBackend('webgpu');
    const before = tf.memory().numTensors;
    const ours = await step(model);
    expect(tf.memory().numTensors).toBe(before);
    expect(ours.grads).toHaveLength(reference.grads.length);
    expect(worstRelative(ours.grads, reference.grads)).toBeLessThanOrEqual(TOLERANCE);
    ours.losses.forEach((l, i) => expect(Math.abs(l - reference.losses[i]!)).toBeLessThanOrEqual(TOLERANCE * Math.abs(reference.losses[i]!)));
  });
});
