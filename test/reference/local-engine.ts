/**
 * The in-process engine, a test oracle: every network, the optimizers and the
 * data loader in the calling thread. It is the reference every strategy of
 * the actor engine is checked against. With `accumulation` it accumulates
 * each step's gradients over microbatches (and replica shards) as the
 * pipeline strategies do (accumulate.ts): their reference.
 */
import * as tf from '@tensorflow/tfjs';
import { Subject } from 'rxjs';
import { BatchSampler, gatherBatch, type Dataset, type Split } from '../../src/data/index.js';
import { errors } from '../../src/errors.js';
import {
  adamConfig,
  averagedImageNetwork,
  createPart,
  runOptimizer,
  ganGradients,
  modelSpec,
  planGanStep,
  planVaeStep,
  r1Weight,
  sampleImages,
  vaeGradients,
  type ModelSpec,
  type NetworkName,
  type NetworkPart,
} from '../../src/models/index.js';
import { decodePart, encodePart } from '../../src/models/state.js';
import { layoutBatch, type ShardLayout } from '../../src/parallel/chunks.js';
import { checkImageShape, stepRng, type EngineOptions } from '../../src/parallel/engine-input.js';
import { ENGINE_STATE_FILE, engineStateFile, readEngineState } from '../../src/parallel/engine-state.js';
import type { Engine, EngineEvent, StateFiles, StepResult } from '../../src/parallel/engine.js';
import { Rng } from '../../src/rng.js';
import { accumulateGan, accumulateVae } from './accumulate.js';

/** Gradient accumulation of `LocalEngine`: the batch cut as `replicas` shards of `microbatches` chunks (chunks.ts). */
export interface Accumulation {
  /** Default 1. */
  readonly microbatches?: number;
  /** Default 1. */
  readonly replicas?: number;
}

export class LocalEngine implements Engine {
  readonly placement;
  readonly stepsPerEpoch: number;
  readonly strategy = { name: 'inline', workers: 0, reason: 'inline: every network in the calling thread (the reference engine)' };
  readonly events$ = new Subject<EngineEvent>();
  readonly #spec: ModelSpec;
  readonly #options: EngineOptions;
  readonly #train: Split;
  readonly #sampler: BatchSampler;
  readonly #rng: Rng;
  readonly #batch: Float32Array;
  /** The chunks a step's gradients are accumulated over; undefined: the batch in one piece. */
  readonly #layout: readonly ShardLayout[] | undefined;
  #parts: NetworkPart[];

  constructor(options: EngineOptions, dataset: Dataset, accumulation: Accumulation = {}) {
    this.#spec = modelSpec(options.model);
    this.#options = options;
    this.#train = dataset.train;
    checkImageShape(this.#spec, dataset.train, dataset.name);
    this.#sampler = new BatchSampler(dataset.train.count, options.batchSize, options.seed, { dropLast: true });
    this.stepsPerEpoch = this.#sampler.batchesPerEpoch;
    this.#rng = stepRng(options.seed);
    this.#batch = new Float32Array(options.batchSize * (this.#spec.imageShape as readonly number[]).reduce((a, b) => a * b, 1));
    this.#parts = this.#spec.networks.map((n) => createPart(this.#spec, n, options.seed, runOptimizer(n, options)));
    this.placement = Object.fromEntries(['dataLoader', ...this.#spec.networks].map((a) => [a, 0]));
    const { microbatches = 1, replicas = 1 } = accumulation;
    for (const [field, value] of [['microbatches', microbatches], ['replicas', replicas]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw errors.invalidValue(field, 'a positive integer', value);
    }
    if (microbatches * replicas > options.batchSize) {
      throw errors.invalidValue('microbatches', `at most batchSize / replicas (${Math.floor(options.batchSize / replicas)})`, microbatches);
    }
    this.#layout = microbatches * replicas > 1 ? layoutBatch(options.batchSize, replicas, microbatches) : undefined;
  }

  #part(name: string): NetworkPart {
    const part = this.#parts.find((p) => p.name === name);
    if (!part) throw errors.internal(`no network ${name}`);
    return part;
  }

  async step(): Promise<StepResult> {
    const batch = this.#sampler.next();
    const { batchSize } = this.#options;
    gatherBatch(this.#train, batch.indices, this.#spec.range, this.#batch);
    const spec = this.#spec;
    const names = spec.networks as readonly string[];
    // Gradients first, applied only once every loss and gradient is known finite.
    const x = tf.tensor4d(this.#batch, [batchSize, ...spec.imageShape]);
    const layout = this.#layout;
    // The R1 penalty's weight this step: the actors key it by the steps done, which are D's updates here.
    const r1 = spec.kind === 'gan' ? r1Weight(spec.r1, this.#part('discriminator').step) : 0;
    // Accumulation reads each chunk's losses (asynchronously), so it runs outside tidy.
    const accumulated = !layout
      ? undefined
      : await (spec.kind === 'gan'
          ? accumulateGan(
                { generator: this.#part('generator'), discriminator: this.#part('discriminator') },
                x,
                planGanStep(this.#rng, batchSize, spec.noiseDim),
                layout,
                spec.realLabel,
                r1,
              )
            : accumulateVae(
                { encoder: this.#part('encoder'), decoder: this.#part('decoder') },
                x,
                planVaeStep(this.#rng, batchSize, spec.latentDim),
                layout,
              )
        ).catch((error: unknown) => {
          x.dispose();
          throw error;
        });
    const out = tf.tidy(() => {
      if (accumulated) return { losses: accumulated.losses.map((v) => tf.scalar(v)), grads: accumulated.grads };
      if (spec.kind === 'gan') {
        const plan = planGanStep(this.#rng, batchSize, spec.noiseDim);
        const g = ganGradients(
          { generator: this.#part('generator'), discriminator: this.#part('discriminator') },
          x,
          plan,
          1,
          spec.realLabel,
          'bce',
          r1,
        );
        return {
          losses: [g.dLoss, g.gLoss],
          grads: { generator: g.generatorGrads, discriminator: g.discriminatorGrads } as Record<string, tf.Tensor[]>,
        };
      }
      const plan = planVaeStep(this.#rng, batchSize, spec.latentDim);
      const v = vaeGradients({ encoder: this.#part('encoder'), decoder: this.#part('decoder') }, x, plan);
      return {
        losses: [v.loss, v.bce, v.kl],
        grads: { encoder: v.encoderGrads, decoder: v.decoderGrads } as Record<string, tf.Tensor[]>,
      };
    });
    x.dispose();
    try {
      const checks = tf.tidy(() =>
        tf.stack([...out.losses, ...names.map((n) => out.grads[n]!.map((g) => tf.sum(g)).reduce((a, b) => tf.add(a, b)))]),
      );
      const values = await checks.data();
      checks.dispose();
      const lossValues = Array.from(values.subarray(0, out.losses.length));
      const losses: Record<string, number> =
        spec.kind === 'gan'
          ? { discriminator: lossValues[0]!, generator: lossValues[1]! }
          : { loss: lossValues[0]!, bce: lossValues[1]!, kl: lossValues[2]! };
      const result = { losses, samples: batchSize, epoch: batch.epoch };
      const badLoss = lossValues.findIndex((v) => !Number.isFinite(v));
      if (badLoss >= 0) {
        // GAN: dLoss is the discriminator's, gLoss the generator's; VAE losses are shared.
        const network = spec.kind === 'gan' ? names[badLoss === 0 ? 1 : 0]! : 'decoder';
        this.#discard();
        return { ...result, nonFinite: { network, what: 'loss' } };
      }
      const badGrad = names.findIndex((_, i) => !Number.isFinite(values[out.losses.length + i]!));
      if (badGrad >= 0) {
        this.#discard();
        return { ...result, nonFinite: { network: names[badGrad]!, what: 'gradient' } };
      }
      tf.tidy(() => {
        for (const n of names) this.#part(n).apply(out.grads[n]!);
      });
      return result;
    } finally {
      tf.dispose([...out.losses, ...Object.values(out.grads).flat()]);
    }
  }

  #discard(): void {
    for (const p of this.#parts) p.discardStepState();
  }

  async save(): Promise<StateFiles> {
    const files: StateFiles = {};
    for (const part of this.#parts) Object.assign(files, await encodePart(part));
    files[ENGINE_STATE_FILE] = engineStateFile(this.#sampler.cursor, this.#rng.state());
    return files;
  }

  async restore(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const state = readEngineState(files);
    const spec = this.#spec;
    const parts: NetworkPart[] = [];
    try {
      for (const n of spec.networks) {
        parts.push(await decodePart(n, files, adamConfig(spec, runOptimizer(n, this.#options))));
      }
    } catch (e) {
      for (const p of parts) p.dispose();
      throw e;
    }
    for (const p of this.#parts) p.dispose();
    this.#parts = parts;
    this.#sampler.seek(state.cursor);
    this.#rng.setState(state.rng);
  }

  async sample(n: number, seed: number): Promise<Float32Array> {
    const network = this.#spec.kind === 'gan' ? 'generator' : 'decoder';
    // As the actors do: from the moving average of the weights where the generator keeps one.
    const averaged = await averagedImageNetwork(this.#part(network));
    try {
      return await sampleImages(this.#spec, averaged ?? this.#part(network), n, new Rng(seed));
    } finally {
      averaged?.dispose();
    }
  }

  async networkWeights(network: NetworkName): Promise<Float32Array[]> {
    return await this.#part(network).getWeights();
  }

  async close(): Promise<void> {
    for (const p of this.#parts) p.dispose();
    this.#parts = [];
    this.events$.complete();
  }
}
