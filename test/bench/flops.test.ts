/**
 * The FLOP count against hand-computed figures of the real networks.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkCost, stepFlops } from '../../src/bench/flops.js';
import { useBackend } from '../../src/backend/index.js';
import { modelSpec } from '../../src/models/index.js';

const built: tf.LayersModel[] = [];
function build(name: 'vae-mlp' | 'dcgan') {
  const spec = modelSpec(name);
  const models = spec.build(0) as Record<string, tf.LayersModel>;
  built.push(...Object.values(models));
  return { spec, models };
}

beforeAll(async () => {
  await useBackend('cpu');
});
afterAll(() => {
  for (const m of built) m.dispose();
});

describe('FLOPs per training sample', () => {
  it('vae-mlp: encoder 784·400 + 400·40, decoder 20·400 + 400·784 multiply-adds', () => {
    const { spec, models } = build('vae-mlp');
    const encoder = networkCost('encoder', models['encoder']!);
    expect(encoder.layers.map((l) => l.macs)).toEqual([313_600, 16_000]);
    expect(encoder.first).toBe(313_600);
    const f = stepFlops(spec, models);
    // Encoder: F + W + (F − first) = 3·329,600 − 313,600; decoder: 3·321,600 (its input gradient feeds the encoder).
    const tape = 3 * 329_600 - 313_600 + 3 * 321_600;
    expect(f.tape).toBe(2 * tape);
    // paragen runs one tape (the encoder keeps its forward tape); so does the plain-tfjs VAE.
    expect(f.paragen).toBe(2 * tape);
    expect(f.baseline).toBe(f.tape);
  });

  it('dcgan: the tutorial networks, transposed convolutions counted from their inputs', () => {
    const { spec, models } = build('dcgan');
    const g = networkCost('generator', models['generator']!);
    expect(g.layers.map((l) => [l.kind, l.macs])).toEqual([
      ['Dense', 100 * 7 * 7 * 256],
      ['Conv2DTranspose', 7 * 7 * 256 * 25 * 128],
      ['Conv2DTranspose', 7 * 7 * 128 * 25 * 64],
      ['Conv2DTranspose', 14 * 14 * 64 * 25 * 1],
    ]);
    const d = networkCost('discriminator', models['discriminator']!);
    expect(d.layers.map((l) => [l.kind, l.macs])).toEqual([
      ['Conv2D', 14 * 14 * 64 * 25 * 1],
      ['Conv2D', 7 * 7 * 128 * 25 * 64],
      ['Dense', 7 * 7 * 128],
    ]);
    const f = stepFlops(spec, models);
    const weightsPass = (c: { forward: number; first: number }) => 3 * c.forward - c.first;
    // G for its weights; D for its weights on real and on fake; D's input gradient on fake for G.
    const tape = weightsPass(g) + 2 * weightsPass(d) + d.forward;
    expect(f.tape).toBe(2 * tape);
    expect(f.tape / 1e6).toBeCloseTo(451.67, 2);
    // paragen runs one tape; plain tfjs (one tf.variableGrads per network) runs G and D-on-fakes once more.
    expect(f.paragen).toBe(2 * tape);
    expect(f.baseline).toBe(2 * (tape + g.forward + d.forward));
  });
});
