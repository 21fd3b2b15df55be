/**
 * One training step as messages between network actors: the computation of
 * `ganGradients` / `vaeGradients` in steps.ts, split where the networks
 * meet, then the same finite check and apply-or-discard as `LocalEngine`.
 *
 * GAN: generator.forward(noise) → fake; discriminator.backward(real, fake)
 * → losses and ∂gLoss/∂fake; generator.backward(∂gLoss/∂fake).
 * VAE: encoder.forward(x, eps) → z; decoder.backward(z, x) → bce and
 * ∂bce/∂z; encoder.backward(∂bce/∂z) → KL.
 *
 * Activations and gradients move (transferred buffers); the batch is copied
 * once for the VAE, whose encoder and decoder both need it.
 */
import type { DecoderProtocol } from '../../actors/decoder.js';
import type { DiscriminatorProtocol } from '../../actors/discriminator.js';
import type { EncoderProtocol } from '../../actors/encoder.js';
import type { GeneratorProtocol } from '../../actors/generator.js';
import type { NetworkEvent, NetworkProtocol } from '../../actors/network.js';
import { ActorDied, transfer, type ActorRef } from '../actor/index.js';
import type { GanStepPlan, VaeStepPlan } from '../models/index.js';
import type { StepResult } from './engine.js';

export type NetworkRef<P extends NetworkProtocol = NetworkProtocol> = ActorRef<P, NetworkEvent>;

export interface GanActors {
  readonly kind: 'gan';
  readonly generator: NetworkRef<GeneratorProtocol>;
  readonly discriminator: NetworkRef<DiscriminatorProtocol>;
}

export interface VaeActors {
  readonly kind: 'vae';
  readonly encoder: NetworkRef<EncoderProtocol>;
  readonly decoder: NetworkRef<DecoderProtocol>;
}

export type NetworkActors = GanActors | VaeActors;

/** What a step computed: its losses, and which network was not finite (then nothing was applied). */
export type StepOutcome = Pick<StepResult, 'losses' | 'nonFinite'>;

type NonFinite = NonNullable<StepResult['nonFinite']>;

/** The network actors, in the model's network order (the order `LocalEngine` checks gradients in). */
export function networkRefs(actors: NetworkActors): NetworkRef[] {
  return (actors.kind === 'gan' ? [actors.generator, actors.discriminator] : [actors.encoder, actors.decoder]) as NetworkRef[];
}

/** The first error among settled results, an `ActorDied` first: every call has settled before a recovery starts. */
export async function settleAll<T>(calls: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(calls);
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown);
  if (failed.length > 0) throw failed.find((e) => e instanceof ActorDied) ?? failed[0];
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** One GAN step on batch `x` (moved to the discriminator) with `plan`. */
export async function ganStep(actors: GanActors, x: Float32Array, plan: GanStepPlan, step: number): Promise<StepOutcome> {
  const { generator, discriminator } = actors;
  const { noise, seeds } = plan;
  const { fake } = await generator.call('forward', transfer({ step, noise, seed: seeds.generator }, [noise]));
  const d = await discriminator.call(
    'backward',
    transfer({ step, real: x, fake, seeds: { real: seeds.real, fake: seeds.fake } }, [x, fake]),
  );
  const g = await generator.call('backward', transfer({ step, upstream: d.fakeGrad }, [d.fakeGrad]));
  const losses = { discriminator: d.dLoss, generator: d.gLoss };
  // As LocalEngine: the discriminator loss is the discriminator's, the generator loss the generator's.
  const nonFinite: NonFinite | undefined = !Number.isFinite(d.dLoss)
    ? { network: 'discriminator', what: 'loss' }
    : !Number.isFinite(d.gLoss)
      ? { network: 'generator', what: 'loss' }
      : firstBadGradient([
          ['generator', g.gradSum],
          ['discriminator', d.gradSum],
        ]);
  await finish(networkRefs(actors), step, nonFinite);
  return nonFinite ? { losses, nonFinite } : { losses };
}

/** One VAE step on batch `x` (moved to the encoder, a copy to the decoder) with `plan`. */
export async function vaeStep(actors: VaeActors, x: Float32Array, plan: VaeStepPlan, step: number): Promise<StepOutcome> {
  const { encoder, decoder } = actors;
  const { eps, seeds } = plan;
  const forDecoder = x.slice();
  const { z } = await encoder.call('forward', transfer({ step, x, eps, seed: seeds.encoder }, [x, eps]));
  const d = await decoder.call('backward', transfer({ step, z, x: forDecoder, seed: seeds.decoder }, [z, forDecoder]));
  const e = await encoder.call('backward', transfer({ step, zGrad: d.zGrad }, [d.zGrad]));
  // float32 addition, as tf.add(bce, kl) in LocalEngine (rounding the exact sum once is the float32 sum).
  const loss = Math.fround(d.bce + e.kl);
  const losses = { loss, bce: d.bce, kl: e.kl };
  const nonFinite: NonFinite | undefined = [loss, d.bce, e.kl].some((v) => !Number.isFinite(v))
    ? { network: 'decoder', what: 'loss' }
    : firstBadGradient([
        ['encoder', e.gradSum],
        ['decoder', d.gradSum],
      ]);
  await finish(networkRefs(actors), step, nonFinite);
  return nonFinite ? { losses, nonFinite } : { losses };
}

function firstBadGradient(sums: readonly (readonly [string, number])[]): NonFinite | undefined {
  const bad = sums.find(([, sum]) => !Number.isFinite(sum));
  return bad ? { network: bad[0], what: 'gradient' } : undefined;
}

/** Every network applies its held gradients — or, when anything was not finite, drops them. */
async function finish(refs: readonly NetworkRef[], step: number, nonFinite: NonFinite | undefined): Promise<void> {
  await settleAll(refs.map((ref) => (nonFinite ? ref.call('discard') : ref.call('apply', { step }))));
}
