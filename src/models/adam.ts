/**
 * Adam with its whole state in the open. tfjs's `AdamOptimizer` keeps its
 * moments in private fields, reads them back only asynchronously, and on
 * `setWeights` recomputes β^t from a different step count than it counts
 * with — so a run resumed through it does not continue exactly. This one keeps
 * the step count as an integer and forms the bias corrections from it in
 * float64, so `getState()`/`setState()` resume bit-for-bit.
 *
 * The update is tfjs's (and PyTorch's) form:
 *   m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;
 *   w ← w - lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + ε)
 *
 * With `average` set it also keeps an exponential moving average of the
 * weights (Polyak averaging, the "EMA of G" of many GAN implementations):
 *   a ← d·a + (1-d)·w after each update, d = min(average, (1+t)/(10+t)),
 * the usual warm-up, so that early on the average follows the weights. It
 * starts as the weights after the first update (or the first after a state
 * without an average was restored), and is part of the state.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';

/** Adam's hyper-parameters. */
export interface AdamConfig {
  lr: number;
  beta1: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (Keras and tfjs); PyTorch uses 1e-8. */
  epsilon?: number;
  /** Decay of a moving average of the weights, in [0, 1); 0 or absent: none. */
  average?: number;
}

/** Adam's state: the step count and both moments, one array per trainable weight. */
export interface AdamState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
  /** The moving average of the weights, when the optimizer keeps one and it has started. */
  average?: Float32Array[];
}

export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** The moving average's decay (0: none kept). */
  readonly average: number;
  #step = 0;
  readonly #m: tf.Variable[];
  readonly #v: tf.Variable[];
  readonly #a: tf.Variable[];
  #averaging = false;

  constructor(config: AdamConfig, shapes: readonly (readonly number[])[]) {
    this.lr = positive('lr', config.lr);
    this.beta1 = fraction('beta1', config.beta1);
    this.beta2 = fraction('beta2', config.beta2 ?? 0.999);
    this.epsilon = positive('epsilon', config.epsilon ?? 1e-7);
    this.average = fraction('average', config.average ?? 0);
    // tidy disposes the zeros but not the variables made from them.
    this.#m = tf.tidy(() => shapes.map((s) => tf.variable(tf.zeros([...s]), false)));
    this.#v = tf.tidy(() => shapes.map((s) => tf.variable(tf.zeros([...s]), false)));
    this.#a = this.average > 0 ? tf.tidy(() => shapes.map((s) => tf.variable(tf.zeros([...s]), false))) : [];
  }

  /** The number of updates taken so far. */
  get step(): number {
    return this.#step;
  }

  /** One Adam update of `weights` by `grads` (same order and shapes as the constructor's), at `lrScale` × lr. */
  update(weights: readonly tf.Variable[], grads: readonly tf.Tensor[], lrScale = 1): void {
    this.#step += 1;
    const { beta1: b1, beta2: b2 } = this;
    const c1 = 1 - b1 ** this.#step;
    const c2 = 1 - b2 ** this.#step;
    tf.tidy(() => {
      for (let i = 0; i < weights.length; i++) {
        const g = grads[i]!;
        const m = this.#m[i]!;
        const v = this.#v[i]!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const denom = tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon);
        const w = weights[i]!;
        w.assign(tf.sub(w, tf.mul(this.lr * lrScale, tf.div(tf.div(m, c1), denom))));
      }
      if (this.average > 0) this.#updateAverage(weights);
    });
  }

  /** The moving average of the weights (variables owned here, not to be disposed), or undefined before it starts. */
  get averageVariables(): readonly tf.Variable[] | undefined {
    return this.#averaging ? this.#a : undefined;
  }

  #updateAverage(weights: readonly tf.Variable[]): void {
    if (!this.#averaging) {
      weights.forEach((w, i) => this.#a[i]!.assign(w));
      this.#averaging = true;
      return;
    }
    const d = Math.min(this.average, (1 + this.#step) / (10 + this.#step));
    weights.forEach((w, i) => this.#a[i]!.assign(tf.add(tf.mul(this.#a[i]!, d), tf.mul(w, 1 - d))));
  }

  /** A copy of the state, for a checkpoint or a snapshot. */
  async getState(): Promise<AdamState> {
    const read = (ts: readonly tf.Tensor[]) => Promise.all(ts.map(async (t) => ((await t.data()) as Float32Array).slice()));
    const step = this.#step;
    const [m, v, average] = await Promise.all([read(this.#m), read(this.#v), read(this.#averaging ? this.#a : [])]);
    return { step, m, v, ...(this.#averaging ? { average } : {}) };
  }

  /** Restores a state from `getState()`; the next update continues exactly. */
  setState(state: AdamState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw errors.invalidValue('optimizer state step', 'a non-negative integer', state.step);
    }
    const check = (arrays: Float32Array[], which: string, vars: tf.Variable[]) => {
      if (arrays.length !== vars.length) {
        throw errors.invalidValue(`optimizer state ${which}`, `${vars.length} arrays`, arrays.length);
      }
      arrays.forEach((a, i) => {
        if (a.length !== vars[i]!.size) {
          throw errors.invalidValue(`optimizer state ${which}[${i}] length`, String(vars[i]!.size), a.length);
        }
      });
    };
    check(state.m, 'm', this.#m);
    check(state.v, 'v', this.#v);
    // An average this optimizer does not keep is dropped; one it keeps but the state lacks starts afresh.
    const average = this.average > 0 ? state.average : undefined;
    if (average) check(average, 'average', this.#a);
    tf.tidy(() => {
      state.m.forEach((a, i) => this.#m[i]!.assign(tf.tensor(a, this.#m[i]!.shape)));
      state.v.forEach((a, i) => this.#v[i]!.assign(tf.tensor(a, this.#v[i]!.shape)));
      average?.forEach((a, i) => this.#a[i]!.assign(tf.tensor(a, this.#a[i]!.shape)));
    });
    this.#averaging = average !== undefined;
    this.#step = state.step;
  }

  dispose(): void {
    for (const t of [...this.#m, ...this.#v, ...this.#a]) t.dispose();
  }
}

function positive(field: string, value: number): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw errors.invalidValue(field, 'a positive number', value);
  }
  return value;
}

function fraction(field: string, value: number): number {
  if (!(typeof value === 'number' && value >= 0 && value < 1)) {
    throw errors.invalidValue(field, 'a number in [0, 1)', value);
  }
  return value;
}
