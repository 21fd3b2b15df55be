/**
 * One training step as messages between network actors: the computation of
 * `ganGradients` / `vaeGradients` in steps.ts, split where the networks meet,
 * run on every replica's shard and microbatch (pipeline.ts runs them through
 * the stages), then the same finite check and apply-or-discard as
 * `LocalEngine` (test/reference), for every actor at once.
 *
 * Between stages on process or remote hosts, fake_c / z_c and their
 * gradients go over the replica's stage pair instead (tcp-pair.ts): the
 * requests and replies below then leave them out.
 *
 * GAN, per microbatch c: generator.forward(noise_c) → fake_c;
 * discriminator.backward(real_c, fake_c) → losses and ∂gLoss/∂fake_c;
 * generator.backward(∂gLoss/∂fake_c).
 * VAE, per microbatch c: encoder.forward(x_c, eps_c) → z_c;
 * decoder.backward(z_c, x_c) → bce and ∂bce/∂z_c; encoder.backward(∂bce/∂z_c) → KL.
 *
 * Each chunk trains on its loss times rows / global batch (chunks.ts), so the
 * reported losses are the sums of the chunks' (in chunk order, rounded to
 * float32 once) and the gradients add up to the global batch's. Activations
 * and gradients move (transferred buffers); the batch's rows are copied once
 * for the VAE, whose encoder and decoder both need them.
 */
import type { DecoderProtocol, DecoderReply } from '../../actors/decoder.js';
import type { DiscriminatorProtocol, DiscriminatorReply } from '../../actors/discriminator.js';
import type { EncoderOutput, EncoderProtocol } from '../../actors/encoder.js';
import type { GeneratorOutput, GeneratorProtocol } from '../../actors/generator.js';
import type { GradientReport, NetworkEvent, NetworkProtocol } from '../../actors/network.js';
import { ActorDied, transfer, type ActorRef } from '../actor/index.js';
import type { GanStepPlan, VaeStepPlan } from '../models/index.js';
import { chunkSeed, rowsOf, type ShardLayout } from './chunks.js';
import type { StepResult } from './engine.js';
import { drive, idealBubble, type Driven, type StageOp, type Stages } from './pipeline.js';

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

/** What a step computed: its losses, which network was not finite (then nothing was applied), and its bubble. */
export type StepOutcome = Pick<StepResult, 'losses' | 'nonFinite' | 'bubble'>;

/**
 * A step whose update has been sent: `update` settles when every actor has
 * applied (or dropped) its gradients. Each actor answers in arrival order, so
 * whatever is sent to it next runs after its update; the caller awaits
 * `update` only before it needs the result — the next step's compute, a
 * snapshot — and meanwhile prepares the next step.
 */
export interface StepRun {
  readonly outcome: StepOutcome;
  readonly update: Promise<void>;
}

type NonFinite = NonNullable<StepResult['nonFinite']>;

/** One replica's part of a step: its actors, its shard of the batch and where that shard sits. */
export interface ReplicaStep {
  readonly actors: NetworkActors;
  /** The shard's images, [rows, H, W, C] flattened (moved to the actors). */
  readonly x: Float32Array;
  readonly shard: ShardLayout;
}

/** How a step runs: its number, stage-0 order of work, stages per replica, and what to do when a request fails. */
export interface StepSchedule {
  readonly step: number;
  readonly order: readonly StageOp[];
  readonly stages: 1 | 2;
  /** Called once, at the first failure (wakes replicas waiting in an all-reduce). */
  readonly onFailure: () => void;
}

/** The first error among settled results, an `ActorDied` first: every call has settled before a recovery starts. */
export async function settleAll<T>(calls: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(calls);
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown);
  if (failed.length > 0) throw failed.find((e) => e instanceof ActorDied) ?? failed[0];
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Float32 rounding of a float64 sum of float32 values: what tfjs would report. */
function total(values: readonly number[]): number {
  return Math.fround(values.reduce((a, b) => a + b, 0));
}

/** One GAN step, every replica at once, with `plan` (the global batch's). */
export async function ganStep(replicas: readonly ReplicaStep[], plan: GanStepPlan, schedule: StepSchedule): Promise<StepRun> {
  const runs = await settleAll(
    replicas.map(({ actors, x, shard }) => {
      if (actors.kind !== 'gan') throw new Error('ganStep: a VAE replica');
      const imageSize = x.length / shard.size;
      const real = chunkRows(x, imageSize, shard);
      const stages: Stages<GeneratorOutput, DiscriminatorReply, GradientReport> = {
        forward(c) {
          const chunk = shard.chunks[c]!;
          const noise = rowsOf(plan.noise, plan.noiseDim, chunk.offset, chunk.offset + chunk.size);
          const seed = chunkSeed(plan.seeds.generator, chunk.offset);
          return actors.generator.call('forward', transfer({ step: schedule.step, chunk: c, noise, seed }, [noise]));
        },
        last(c, { fake }) {
          const chunk = shard.chunks[c]!;
          const seeds = { real: chunkSeed(plan.seeds.real, chunk.offset), fake: chunkSeed(plan.seeds.fake, chunk.offset) };
          const request = { step: schedule.step, chunk: c, last: chunk.last, weight: chunk.weight, real: real[c]!, ...(fake ? { fake } : {}), seeds };
          return actors.discriminator.call('backward', transfer(request, present(real[c], fake)));
        },
        backward(c, { fakeGrad }) {
          const request = { step: schedule.step, chunk: c, last: shard.chunks[c]!.last, ...(fakeGrad ? { upstream: fakeGrad } : {}) };
          return actors.generator.call('backward', transfer(request, present(fakeGrad)));
        },
      };
      return drive(stages, schedule.order, schedule.onFailure);
    }),
  );
  const d = runs.flatMap((r) => r.last);
  const losses = { discriminator: total(d.map((m) => m.dLoss)), generator: total(d.map((m) => m.gLoss)) };
  const sums = (run: Driven<DiscriminatorReply, GradientReport>) => ({
    generator: run.backward.at(-1)!.gradSum,
    discriminator: run.last.at(-1)!.gradSum,
  });
  // As LocalEngine: the discriminator loss is the discriminator's, the generator loss the generator's.
  const nonFinite: NonFinite | undefined = !Number.isFinite(losses.discriminator)
    ? { network: 'discriminator', what: 'loss' }
    : !Number.isFinite(losses.generator)
      ? { network: 'generator', what: 'loss' }
      : firstBadGradient(runs.map(sums), ['generator', 'discriminator']);
  return { outcome: outcome(losses, nonFinite, runs, schedule, replicas), update: finish(replicas, schedule, nonFinite) };
}

/** One VAE step, every replica at once, with `plan` (the global batch's). */
export async function vaeStep(replicas: readonly ReplicaStep[], plan: VaeStepPlan, schedule: StepSchedule): Promise<StepRun> {
  const runs = await settleAll(
    replicas.map(({ actors, x, shard }) => {
      if (actors.kind !== 'vae') throw new Error('vaeStep: a GAN replica');
      const imageSize = x.length / shard.size;
      // The decoder's copy first: a single chunk moves `x` itself to the encoder.
      const forDecoder = chunkRows(x, imageSize, shard, true);
      const forEncoder = chunkRows(x, imageSize, shard);
      const stages: Stages<EncoderOutput, DecoderReply, GradientReport & { kl: number }> = {
        forward(c) {
          const chunk = shard.chunks[c]!;
          const eps = rowsOf(plan.eps, plan.latentDim, chunk.offset, chunk.offset + chunk.size);
          const x = forEncoder[c]!;
          const seed = chunkSeed(plan.seeds.encoder, chunk.offset);
          return actors.encoder.call('forward', transfer({ step: schedule.step, chunk: c, x, eps, seed }, [x, eps]));
        },
        last(c, { z }) {
          const chunk = shard.chunks[c]!;
          const x = forDecoder[c]!;
          const seed = chunkSeed(plan.seeds.decoder, chunk.offset);
          const request = { step: schedule.step, chunk: c, last: chunk.last, weight: chunk.weight, ...(z ? { z } : {}), x, seed };
          return actors.decoder.call('backward', transfer(request, present(z, x)));
        },
        backward(c, { zGrad }) {
          const chunk = shard.chunks[c]!;
          const request = { step: schedule.step, chunk: c, last: chunk.last, weight: chunk.weight, ...(zGrad ? { zGrad } : {}) };
          return actors.encoder.call('backward', transfer(request, present(zGrad)));
        },
      };
      return drive(stages, schedule.order, schedule.onFailure);
    }),
  );
  const bce = total(runs.flatMap((r) => r.last.map((m) => m.bce)));
  const kl = total(runs.flatMap((r) => r.backward.map((b) => b.kl)));
  // float32 addition, as tf.add(bce, kl) in LocalEngine (rounding the exact sum once is the float32 sum).
  const loss = Math.fround(bce + kl);
  const losses = { loss, bce, kl };
  const nonFinite: NonFinite | undefined = [loss, bce, kl].some((v) => !Number.isFinite(v))
    ? { network: 'decoder', what: 'loss' }
    : firstBadGradient(
        runs.map((run) => ({ encoder: run.backward.at(-1)!.gradSum, decoder: run.last.at(-1)!.gradSum })),
        ['encoder', 'decoder'],
      );
  return { outcome: outcome(losses, nonFinite, runs, schedule, replicas), update: finish(replicas, schedule, nonFinite) };
}

/** The buffers a request moves: activations that went over a stage pair instead are absent. */
function present(...views: (Float32Array | undefined)[]): Float32Array[] {
  return views.filter((v): v is Float32Array => v !== undefined);
}

/**
 * Each microbatch's rows of a shard, as buffers of their own (they move to
 * an actor). One microbatch is the shard itself, unless `copy` asks for a copy.
 */
function chunkRows(x: Float32Array, imageSize: number, shard: ShardLayout, copy = false): Float32Array[] {
  if (shard.chunks.length === 1 && !copy) return [x];
  return shard.chunks.map((c) => rowsOf(x, imageSize, c.offset - shard.start, c.offset - shard.start + c.size));
}

/**
 * The first network, in `order`, whose gradient sum is not finite at some
 * replica (replicas that all-reduce report the same sum; a missing sum — a
 * report that was not the last chunk's — is a bug).
 */
function firstBadGradient(sums: readonly Readonly<Record<string, number | undefined>>[], order: readonly string[]): NonFinite | undefined {
  for (const network of order) {
    for (const replica of sums) {
      const sum = replica[network];
      if (sum === undefined) throw new Error(`no gradient sum from ${network}: its last chunk was not marked last`);
      if (!Number.isFinite(sum)) return { network, what: 'gradient' };
    }
  }
  return undefined;
}

/**
 * Sends every network of every replica its update: apply the (all-reduced)
 * gradients — or, when anything was not finite, drop them. Replicas with
 * batch norm average their moving statistics inside `apply`: a failure wakes
 * the others. Settles once all have (see `StepRun`).
 */
function finish(replicas: readonly ReplicaStep[], schedule: StepSchedule, nonFinite: NonFinite | undefined): Promise<void> {
  const refs = replicas.flatMap(({ actors }) =>
    (actors.kind === 'gan' ? [actors.generator, actors.discriminator] : [actors.encoder, actors.decoder]) as NetworkRef[],
  );
  const step = schedule.step;
  const calls = refs.map((ref) => (nonFinite ? ref.call('discard') : ref.call('apply', { step })));
  calls.forEach((call) => call.catch(schedule.onFailure));
  const update = settleAll(calls).then(() => undefined);
  // Awaited by the engine before its next request; until then a failure must not count as unhandled.
  update.catch(() => undefined);
  return update;
}

/**
 * The step's outcome; with two stages, its bubble: the share of the step
 * (first request to last reply, before the update) each stage sat idle,
 * averaged over stages and replicas, beside the ideal (p−1)/(m+p−1).
 */
function outcome(
  losses: Readonly<Record<string, number>>,
  nonFinite: NonFinite | undefined,
  runs: readonly Driven<unknown, unknown>[],
  schedule: StepSchedule,
  replicas: readonly ReplicaStep[],
): StepOutcome {
  const base = nonFinite ? { losses, nonFinite } : { losses };
  if (schedule.stages === 1) return base;
  const idle = runs.flatMap((r) => r.busy.map((busy) => Math.max(0, 1 - busy / r.wall)));
  const measured = idle.reduce((a, b) => a + b, 0) / idle.length;
  return { ...base, bubble: { measured, ideal: idealBubble(2, replicas[0]!.shard.chunks.length) } };
}
