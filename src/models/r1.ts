/**
 * The R1 penalty (Mescheder et al., "Which training methods for GANs do
 * actually converge?", 2018): the discriminator's loss gains
 *
 *   γ/2 · E_x ‖∇ₓ D(x)‖²
 *
 * over the real images, which keeps D flat on the data and damps the
 * oscillation of simultaneous gradient steps. It is applied lazily, as
 * StyleGAN2 does: on every `every`-th step only, with γ·every, so that its
 * second-order pass through D is paid once in `every` steps.
 *
 * Its gradient needs the gradient of a gradient, so it runs on tfjs's own
 * autodiff over the discriminator's layers (`model.apply`), in inference mode:
 * no dropout, so that it draws no randomness of its own and every strategy
 * computes the same numbers. paragen's discriminators have no batch norm, so
 * that is the training pass without its dropout.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetworkPart } from './part.js';

/** γ and the lazy interval of the R1 penalty (γ 0: none). */
export interface R1Penalty {
  readonly gamma: number;
  readonly every: number;
}

/** The penalty's weight at 0-based optimizer step `step`: γ·every on steps 0, every, 2·every, …; 0 otherwise or without one. */
export function r1Weight(r1: R1Penalty | undefined, step: number): number {
  if (!r1 || r1.gamma === 0) return 0;
  return step % r1.every === 0 ? r1.gamma * r1.every : 0;
}

/**
 * ∂/∂w of weight/2 · mean over the batch of ‖∇ₓD(x)‖², at `real`: one
 * gradient per trainable weight of D, in `trainableVariables` order. A weight
 * the penalty does not depend on (the last layer's bias) gets zeros.
 */
export function r1Gradients(discriminator: NetworkPart, real: tf.Tensor, weight: number): tf.Tensor[] {
  registerComparisonGradients();
  return penaltyGradients(discriminator, (d) => {
    const dx = tf.grad((x: tf.Tensor) => tf.sum(d(x)))(real);
    const perImage = tf.sum(tf.square(dx), dx.shape.slice(1).map((_, i) => i + 1));
    return tf.mul(tf.mean(perImage), weight / 2) as tf.Scalar;
  });
}

/**
 * ∂/∂w of `penalty`, a scalar built from `d` (the discriminator's layers in
 * inference mode, on tfjs's own autodiff): one gradient per trainable weight,
 * in `trainableVariables` order, zeros for a weight it does not depend on.
 */
export function penaltyGradients(discriminator: NetworkPart, penalty: (d: (x: tf.Tensor) => tf.Tensor) => tf.Scalar): tf.Tensor[] {
  return tf.tidy(() => {
    const variables = discriminator.trainableVariables;
    const d = (x: tf.Tensor): tf.Tensor => discriminator.model.apply(x, { training: false }) as tf.Tensor;
    const { grads } = tf.variableGrads(() => penalty(d), variables);
    return variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
  });
}

/**
 * A comparison's gradient is zero, but tfjs registers none, and LeakyReLU's
 * gradient compares its input: without these, the gradient of a gradient
 * through LeakyReLU fails. Registered once, for every backend.
 */
let comparisonGradients = false;
function registerComparisonGradients(): void {
  if (comparisonGradients) return;
  comparisonGradients = true;
  for (const kernelName of [tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual]) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]!), b: () => tf.zerosLike(saved[1]!) }),
    });
  }
}
