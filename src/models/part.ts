/**
 * A network part: one network and its Adam optimizer — what a generator,
 * discriminator, encoder or decoder actor holds. Every training step is
 * written in its primitives (`forward`, `vjp`, `lossGrad`, `apply`, and
 * the weight/optimizer state accessors), so the same step runs with all parts
 * in one thread or with each part on its own worker.
 *
 * Determinism across recomputation. tfjs cannot keep a gradient tape across
 * calls, so `vjp` and `lossGrad` run the forward pass again under their own
 * tape. For that to differentiate the very function `forward` computed, a
 * training pass must be a pure function of (weights, input, seed):
 *
 * - Dropout: tfjs's `Dropout` layer draws from its own generator, so in
 *   training the layers are run one by one here and each `Dropout` applies an
 *   inverted-dropout mask drawn from `new Rng(seed)` (dropout layers in order).
 *   The standard layer stays in the model, so saved artifacts are standard.
 * - Batch norm: normalised with the batch's own statistics (as tfjs does in
 *   training, with `tf.moments` and `tf.batchNorm`, so gradients flow through
 *   them), but tfjs's layer would also move its moving mean/variance on every
 *   call — and a recompute is a call. Here the batch statistics of each
 *   training pass are held, keyed by the pass's seed (a recompute with the same
 *   seed replaces them with equal values), and `apply()` folds them into the
 *   moving averages once per seed, in order of first use. That is exactly
 *   Keras's one update per training call, however often a pass is recomputed.
 *
 * The cost of recomputation: `vjp` re-runs the forward pass its caller already
 * ran (one extra forward per `vjp`); `lossGrad` forms the upstream gradient
 * under the same tape, so a pass differentiated that way runs forward once.
 * `forwardTaped` avoids the recomputation altogether: it keeps the pass's
 * tape (tape.ts) until `vjpTaped` — the same numbers as `forward` then
 * `vjp`, without the second forward pass, at the price of holding the
 * tensors the backward pass needs in between. Backward work is the same as
 * one tape's, and `wrt` skips what is not needed (e.g. the discriminator's
 * input gradient on real images).
 * Distinct passes must use distinct seeds (a plan draws them from an Rng).
 * Tensors returned by any method belong to the caller, who disposes them.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import { Rng } from '../rng.js';
import { Adam, type AdamConfig, type AdamState } from './adam.js';
import { loadModel, saveModel, type LoadableFiles, type ModelFiles } from './artifacts.js';
import { batchNormOf, dropout, dropoutRate, STATELESS, type BatchNormLayer, type LayerVariable } from './layers.js';
import { TapedPass } from './tape.js';

/** Which gradients a backward pass computes: skipping one skips its kernels (e.g. the filter gradient). */
export type Wrt = 'both' | 'input' | 'weights';

export interface ForwardOptions {
  /** Training mode: dropout on, batch norm on batch statistics. */
  training: boolean;
  /** Required in training: names the pass, fixes its dropout masks, keys its batch statistics. */
  seed?: number;
}

export interface GradOptions {
  /** The seed of the training pass being differentiated (the one its `forward` used). */
  seed: number;
  /** Default `'both'`. */
  wrt?: Wrt;
}

export interface VjpResult {
  /** ∂/∂input, or null when `wrt` is `'weights'`. */
  inputGrad: tf.Tensor | null;
  /** ∂/∂w for every trainable weight, in `trainableVariables` order; empty when `wrt` is `'input'`. */
  grads: tf.Tensor[];
}

export interface LossGradResult extends VjpResult {
  loss: tf.Scalar;
}

interface BatchStats {
  mean: tf.Tensor;
  variance: tf.Tensor;
}

const TWO_32 = 4294967296;

export class NetworkPart {
  /** The network's role, used in messages (`'generator'`, …). */
  readonly name: string;
  readonly model: tf.Sequential;
  readonly #adam: Adam;
  readonly #trainable: LayerVariable[];
  readonly #batchNorms = new Map<number, BatchNormLayer>();
  /** Batch statistics of the training passes since the last `apply`, by seed, then by layer index. */
  readonly #pending = new Map<number, Map<number, BatchStats>>();

  constructor(name: string, model: tf.LayersModel, optimizer: AdamConfig) {
    if (!(model instanceof tf.Sequential)) {
      throw errors.internal(`network ${name} must be a tf.Sequential, got a ${model.getClassName()}`);
    }
    this.name = name;
    this.model = model;
    model.layers.forEach((layer, i) => {
      const cls = layer.getClassName();
      if (cls === 'BatchNormalization') this.#batchNorms.set(i, batchNormOf(layer));
      else if (cls === 'Dropout') dropoutRate(layer);
      else if (!STATELESS.has(cls)) {
        throw errors.internal(`network ${name}: layer ${layer.name} (${cls}) is not supported in training`);
      }
    });
    this.#trainable = model.trainableWeights;
    this.#adam = new Adam(optimizer, this.#trainable.map((w) => w.shape as number[]));
  }

  /** The trainable variables, in the order of `grads` everywhere. */
  get trainableVariables(): tf.Variable[] {
    // LayerVariable.read() is typed Tensor but returns the backing tf.Variable.
    return this.#trainable.map((w) => w.read() as tf.Variable);
  }

  /** Shapes of the trainable weights, in `grads` order. */
  get trainableShapes(): number[][] {
    return this.#trainable.map((w) => [...(w.shape as number[])]);
  }

  /** Number of weights, trainable or not (as in `model.summary()`). */
  get paramCount(): number {
    return this.model.countParams();
  }

  /** Adam updates applied so far. */
  get step(): number {
    return this.#adam.step;
  }

  /**
   * The network's output for `input`. In training mode it uses the seed's
   * dropout masks and the batch's statistics, and holds those statistics
   * until `apply()`; in inference mode it is the saved model's own `apply`.
   */
  forward(input: tf.Tensor, options: ForwardOptions): tf.Tensor {
    if (!options.training) return tf.tidy(() => this.model.apply(input, { training: false }) as tf.Tensor);
    const seed = checkSeed(options.seed);
    return tf.tidy(() => this.#train(input, seed));
  }

  /**
   * Vector–Jacobian product of the training pass `forward(input, {training, seed})`:
   * the gradients of Σ(output · upstream) with respect to the input and to
   * every trainable weight. Recomputes the forward pass (same masks, same
   * batch statistics) under a tape.
   */
  vjp(input: tf.Tensor, upstream: tf.Tensor, options: GradOptions): VjpResult {
    const seed = checkSeed(options.seed);
    const expected = [input.shape[0], ...(this.model.outputs[0]!.shape.slice(1) as number[])];
    if (!tf.util.arraysEqual(upstream.shape, expected)) {
      throw errors.invalidValue(`upstream gradient of ${this.name}`, `of shape [${expected.join(', ')}]`, upstream.shape);
    }
    const { value, inputGrad, grads } = this.#grad(() => this.#train(input, seed), input, options.wrt, upstream);
    value.dispose();
    return { inputGrad, grads };
  }

  /**
   * The training pass `forward(input, { training: true, seed })`, with its
   * tape kept for `vjpTaped` (the caller disposes the pass). `input` must stay
   * alive until then.
   */
  forwardTaped(input: tf.Tensor, options: { seed: number }): TapedPass {
    const seed = checkSeed(options.seed);
    return TapedPass.record(() => this.#train(input, seed));
  }

  /**
   * `vjp` of a pass recorded by `forwardTaped` on `input`, without running
   * it again; may be called more than once (with other upstream gradients).
   */
  vjpTaped(pass: TapedPass, input: tf.Tensor, upstream: tf.Tensor, wrt: Wrt = 'both'): VjpResult {
    const weights = wrt === 'input' ? [] : this.trainableVariables;
    const xs = wrt === 'weights' ? weights : [input, ...weights];
    const grads = pass.backward(xs, upstream).map((g, i) => g ?? tf.zerosLike(xs[i]!));
    return wrt === 'weights' ? { inputGrad: null, grads } : { inputGrad: grads[0]!, grads: grads.slice(1) };
  }

  /**
   * Gradients of a scalar `loss` of the training pass's output — a `vjp`
   * whose upstream gradient is formed where the output is, so the forward pass
   * runs once instead of twice. `loss` must build its result from tfjs ops.
   */
  lossGrad(input: tf.Tensor, loss: (output: tf.Tensor) => tf.Scalar, options: GradOptions): LossGradResult {
    const seed = checkSeed(options.seed);
    const { value, inputGrad, grads } = this.#grad(() => loss(this.#train(input, seed)), input, options.wrt);
    return { loss: value, inputGrad, grads };
  }

  /**
   * One Adam update with `grads` (tensors or flat arrays, in
   * `trainableVariables` order; not disposed here), then folds the held batch
   * statistics into the moving averages. `lrScale` scales the learning rate
   * for this update (a schedule).
   */
  apply(grads: readonly (tf.Tensor | Float32Array)[], lrScale = 1): void {
    const shapes = this.trainableShapes;
    if (grads.length !== shapes.length) {
      throw errors.invalidValue(`grads of ${this.name}`, `${shapes.length} tensors (one per trainable weight)`, grads.length);
    }
    tf.tidy(() => {
      const tensors = grads.map((g, i) => {
        const size = shapes[i]!.reduce((a, b) => a * b, 1);
        const gotSize = g instanceof Float32Array ? g.length : g.size;
        if (gotSize !== size) throw errors.invalidValue(`grads[${i}] size of ${this.name}`, String(size), gotSize);
        return g instanceof Float32Array ? tf.tensor(g, shapes[i]) : g.reshape(shapes[i]!);
      });
      this.#adam.update(this.trainableVariables, tensors, lrScale);
      this.#commitBatchStats();
    });
  }

  /** Drops the batch statistics held since the last `apply` (a step abandoned and to be retried). */
  discardStepState(): void {
    for (const byLayer of this.#pending.values()) for (const s of byLayer.values()) tf.dispose([s.mean, s.variance]);
    this.#pending.clear();
  }

  /** Every weight (trainable, then the layer's others such as moving statistics), copied, in `model.weights` order. */
  getWeights(): Promise<Float32Array[]> {
    return Promise.all(this.model.weights.map(async (w) => ((await w.read().data()) as Float32Array).slice()));
  }

  /** Sets every weight from arrays in `getWeights()` order. */
  setWeights(values: readonly Float32Array[]): void {
    const weights = this.model.weights;
    if (values.length !== weights.length) {
      throw errors.invalidValue(`weights of ${this.name}`, `${weights.length} arrays`, values.length);
    }
    values.forEach((v, i) => {
      const size = weights[i]!.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      if (v.length !== size) throw errors.invalidValue(`weights[${i}] length of ${this.name}`, String(size), v.length);
    });
    tf.tidy(() => values.forEach((v, i) => weights[i]!.write(tf.tensor(v, weights[i]!.shape as number[]))));
  }

  /** Adam's step count and moments, copied. */
  getOptimizerState(): Promise<AdamState> {
    return this.#adam.getState();
  }

  /** Restores `getOptimizerState()`; the next `apply` continues exactly. */
  setOptimizerState(state: AdamState): void {
    this.#adam.setState(state);
  }

  /** The network as standard TensorFlow.js artifacts (the optimizer state is separate). */
  save(): Promise<ModelFiles> {
    return saveModel(this.model);
  }

  /** Whether the optimizer keeps a moving average of the weights and it has started. */
  get averaged(): boolean {
    return this.#adam.averageVariables !== undefined;
  }

  /**
   * A new part (the caller disposes it) with the moving average of the weights, or undefined before
   * there is one. Its batch-norm statistics are recomputed ("standing statistics": those of the
   * trained weights do not fit their average), pooled over `batches` training passes on `inputs(i)`.
   */
  async averagedCopy(inputs: (batch: number) => tf.Tensor, batches: number): Promise<NetworkPart | undefined> {
    const average = this.#adam.averageVariables;
    if (!average) return undefined;
    const copy = new NetworkPart(this.name, await loadModel(await saveModel(this.model)), { lr: 1, beta1: 0 });
    const trainable = new Map(this.#trainable.map((w, i) => [w.originalName, i]));
    const values = await this.getWeights();
    const weights = await Promise.all(
      this.model.weights.map(async (w, i) => {
        const t = trainable.get(w.originalName);
        return t === undefined ? values[i]! : ((await average[t]!.data()) as Float32Array).slice();
      }),
    );
    try {
      copy.setWeights(weights);
      copy.#standingStatistics(inputs, batches);
    } catch (error) {
      copy.dispose();
      throw error;
    }
    return copy;
  }

  /** Sets batch norm's moving statistics to the pooled statistics of `batches` training passes. */
  #standingStatistics(inputs: (batch: number) => tf.Tensor, batches: number): void {
    if (this.#batchNorms.size === 0 || batches < 1) return;
    const sums = new Map<number, { mean: tf.Tensor; square: tf.Tensor }>();
    for (let b = 0; b < batches; b++) {
      const input = inputs(b);
      tf.dispose(tf.tidy(() => this.#train(input, b)));
      input.dispose();
      for (const [index, stats] of this.#pending.get(b) ?? []) {
        // E[x²] of the batch = var + mean²: pooled over equal batches, var = E[x²] − E[x]².
        const old = sums.get(index);
        const square = tf.tidy(() => tf.add(stats.variance, tf.square(stats.mean)));
        if (old) {
          sums.set(index, { mean: tf.add(old.mean, stats.mean), square: tf.add(old.square, square) });
          tf.dispose([old.mean, old.square, square]);
        } else {
          sums.set(index, { mean: tf.clone(stats.mean), square });
        }
      }
      this.discardStepState();
    }
    for (const [index, { mean, square }] of sums) {
      const bn = this.#batchNorms.get(index)!;
      tf.tidy(() => {
        const m = tf.div(mean, batches);
        bn.movingMean.write(m);
        bn.movingVariance.write(tf.relu(tf.sub(tf.div(square, batches), tf.square(m))));
      });
      tf.dispose([mean, square]);
    }
  }

  dispose(): void {
    this.discardStepState();
    this.#adam.dispose();
    this.model.dispose();
  }

  /** The training pass: layers one by one, dropout and batch norm done here (see the file comment). */
  #train(input: tf.Tensor, seed: number): tf.Tensor {
    const rng = new Rng(seed);
    let h = input;
    this.model.layers.forEach((layer, i) => {
      const bn = this.#batchNorms.get(i);
      if (bn) h = this.#batchNorm(bn, i, h, seed);
      else if (layer.getClassName() === 'Dropout') h = dropout(h, dropoutRate(layer), rng);
      else h = layer.apply(h, { training: true }) as tf.Tensor;
    });
    return h;
  }

  #batchNorm(bn: BatchNormLayer, index: number, x: tf.Tensor, seed: number): tf.Tensor {
    if (bn.axis !== -1 && bn.axis !== x.rank - 1) {
      throw errors.internal(`network ${this.name}: batch norm over axis ${bn.axis} is not supported`);
    }
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const byLayer = this.#pending.get(seed) ?? new Map<number, BatchStats>();
    this.#pending.set(seed, byLayer);
    const old = byLayer.get(index);
    if (old) tf.dispose([old.mean, old.variance]);
    byLayer.set(index, { mean: tf.keep(mean), variance: tf.keep(variance) });
    return tf.batchNorm(x, mean, variance, bn.beta?.read(), bn.gamma?.read(), bn.epsilon);
  }

  #commitBatchStats(): void {
    for (const byLayer of this.#pending.values()) {
      for (const [index, stats] of byLayer) {
        const bn = this.#batchNorms.get(index)!;
        // tfjs's doMovingAverage: moving ← moving - (moving - batch)·(1 - momentum).
        const decay = 1 - bn.momentum;
        for (const [variable, value] of [
          [bn.movingMean, stats.mean],
          [bn.movingVariance, stats.variance],
        ] as const) {
          const current = variable.read();
          variable.write(tf.sub(current, tf.mul(tf.sub(current, value), decay)));
        }
      }
    }
    this.discardStepState();
  }

  #grad<T extends tf.Tensor>(
    f: () => T,
    input: tf.Tensor,
    wrt: Wrt = 'both',
    upstream?: T,
  ): { value: T; inputGrad: tf.Tensor | null; grads: tf.Tensor[] } {
    const weights = wrt === 'input' ? [] : this.trainableVariables;
    const xs = wrt === 'weights' ? weights : [input, ...weights];
    const { value, grads } = tf.engine().gradients(f, xs, upstream);
    return wrt === 'weights'
      ? { value, inputGrad: null, grads }
      : { value, inputGrad: grads[0]!, grads: grads.slice(1) };
  }
}

/** Loads a part from artifacts written by `save()` (or any Sequential TensorFlow.js artifacts). */
export async function loadPart(name: string, files: LoadableFiles, optimizer: AdamConfig): Promise<NetworkPart> {
  const model = await loadModel(files);
  if (!(model instanceof tf.Sequential)) {
    model.dispose();
    throw errors.badFile('model.json', `network ${name} must be a Sequential model, got ${model.getClassName()}`);
  }
  return new NetworkPart(name, model, optimizer);
}

function checkSeed(seed: number | undefined): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= TWO_32) {
    throw errors.invalidValue('seed', 'an integer in [0, 2^32) for a training pass', seed);
  }
  return seed;
}
