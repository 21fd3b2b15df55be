/**
 * Gradient accumulation in one thread: a step's gradients over the chunks of
 * a batch layout (chunks.ts), computed and summed exactly as the actor
 * engine's replicas and pipeline stages do — each chunk's weighted
 * `ganGradients` / `vaeGradients` with the chunk's rows of the plan and its
 * pass seeds, added in chunk order within a replica, then across replicas in
 * rank order; losses summed in the same order and rounded to float32 once.
 *
 * It is `LocalEngine`'s reference for `pipeline` (and data × pipeline): the
 * same numbers, bit for bit, where the strategy runs them on several workers.
 * (With several replicas and batch norm it is not the data strategy: here one
 * network sees every chunk's statistics, there each replica its own.)
 */
import * as tf from '@tensorflow/tfjs';
import { ganGradients, vaeGradients, type GanParts, type GanStepPlan, type VaeParts, type VaeStepPlan } from '../../src/models/index.js';
import { chunkSeed, rowsOf, type Chunk, type ShardLayout } from '../../src/parallel/chunks.js';

/** A step's summed gradients by network, and its losses (as LocalEngine names them, in its order). */
export interface Accumulated {
  readonly losses: number[];
  readonly grads: Record<string, tf.Tensor[]>;
}

/** The GAN step over `layout`: losses [discriminator, generator]. */
export async function accumulateGan(
  parts: GanParts,
  x: tf.Tensor,
  plan: GanStepPlan,
  layout: readonly ShardLayout[],
  realLabel = 1,
  r1 = 0,
): Promise<Accumulated> {
  const dLosses: number[] = [];
  const gLosses: number[] = [];
  const grads = await accumulate(layout, ['generator', 'discriminator'], async (chunk) => {
    const sub: GanStepPlan = {
      noise: rowsOf(plan.noise, plan.noiseDim, chunk.offset, chunk.offset + chunk.size),
      batchSize: chunk.size,
      noiseDim: plan.noiseDim,
      seeds: {
        generator: chunkSeed(plan.seeds.generator, chunk.offset),
        real: chunkSeed(plan.seeds.real, chunk.offset),
        fake: chunkSeed(plan.seeds.fake, chunk.offset),
      },
    };
    const g = tf.tidy(() => ({ ...ganGradients(parts, rows(x, chunk), sub, chunk.weight, realLabel, 'bce', r1) }));
    const [d, gen] = [(await g.dLoss.data())[0]!, (await g.gLoss.data())[0]!];
    dLosses.push(d);
    gLosses.push(gen);
    tf.dispose([g.dLoss, g.gLoss]);
    return { generator: g.generatorGrads, discriminator: g.discriminatorGrads };
  });
  return { losses: [total(dLosses), total(gLosses)], grads };
}

/** The VAE step over `layout`: losses [loss, bce, kl]. */
export async function accumulateVae(parts: VaeParts, x: tf.Tensor, plan: VaeStepPlan, layout: readonly ShardLayout[]): Promise<Accumulated> {
  const bces: number[] = [];
  const kls: number[] = [];
  const grads = await accumulate(layout, ['encoder', 'decoder'], async (chunk) => {
    const sub: VaeStepPlan = {
      eps: rowsOf(plan.eps, plan.latentDim, chunk.offset, chunk.offset + chunk.size),
      batchSize: chunk.size,
      latentDim: plan.latentDim,
      seeds: { encoder: chunkSeed(plan.seeds.encoder, chunk.offset), decoder: chunkSeed(plan.seeds.decoder, chunk.offset) },
    };
    const v = tf.tidy(() => ({ ...vaeGradients(parts, rows(x, chunk), sub, chunk.weight) }));
    bces.push((await v.bce.data())[0]!);
    kls.push((await v.kl.data())[0]!);
    tf.dispose([v.loss, v.bce, v.kl]);
    return { encoder: v.encoderGrads, decoder: v.decoderGrads };
  });
  const bce = total(bces);
  const kl = total(kls);
  return { losses: [Math.fround(bce + kl), bce, kl], grads };
}

/** Chunk `chunk`'s rows of the global batch `x`. */
function rows(x: tf.Tensor, chunk: Chunk): tf.Tensor {
  return tf.slice(x, [chunk.offset], [chunk.size]);
}

/** The schedule's losses: float64 sums of float32 values, rounded once (schedule.ts does the same). */
function total(values: readonly number[]): number {
  return Math.fround(values.reduce((a, b) => a + b, 0));
}

/** Sums each chunk's gradients: within a replica in chunk order, then across replicas in rank order. */
async function accumulate(
  layout: readonly ShardLayout[],
  networks: readonly string[],
  chunkGrads: (chunk: Chunk) => Promise<Record<string, tf.Tensor[]>>,
): Promise<Record<string, tf.Tensor[]>> {
  const add = (a: Record<string, tf.Tensor[]> | undefined, b: Record<string, tf.Tensor[]>): Record<string, tf.Tensor[]> => {
    if (!a) return b;
    const sum = Object.fromEntries(networks.map((n) => [n, tf.tidy(() => a[n]!.map((g, i) => tf.add(g, b[n]![i]!)))]));
    tf.dispose([...Object.values(a).flat(), ...Object.values(b).flat()]);
    return sum;
  };
  let all: Record<string, tf.Tensor[]> | undefined;
  for (const shard of layout) {
    let replica: Record<string, tf.Tensor[]> | undefined;
    for (const chunk of shard.chunks) replica = add(replica, await chunkGrads(chunk));
    all = add(all, replica!);
  }
  return all!;
}
