import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { planVaeStep, type VaeLosses } from '../../src/models/steps.js';
import { vaeStep } from '../reference/steps.js';
import { TINY_LATENT, disposeParts, patterns, tinyVae } from './tiny.js';

/** Three VAE steps of the tiny dense VAE on `backend`. */
async function run(backend: string): Promise<VaeLosses[]> {
  await tf.setBackend(backend);
  const parts = tinyVae(1);
  const x = tf.tensor4d(patterns(8, 28), [8, 28, 28, 1]);
  const rng = new Rng(2);
  const losses: VaeLosses[] = [];
  for (let i = 0; i < 3; i++) losses.push(await vaeStep(parts, x, planVaeStep(rng, 8, TINY_LATENT)));
  disposeParts(parts);
  x.dispose();
  return losses;
}

describe('on the wasm backend', () => {
  it('a dense VAE trains to the cpu backend’s losses', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    wasm.forEach((w, i) => {
      expect(w.loss).toBeCloseTo(cpu[i]!.loss, 2);
      expect(w.kl).toBeCloseTo(cpu[i]!.kl, 3);
    });
  });
});
