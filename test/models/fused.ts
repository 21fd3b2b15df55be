/**
 * Reference versions of the training steps with one tape over the whole loss
 * (as the TensorFlow tutorial's `GradientTape`s and PyTorch's `backward()`
 * do). Used only in tests, to show the decomposed steps in `src/models/steps.ts`
 * compute the same gradients — the property that lets `--strategy model`
 * reproduce `single`.
 */
import * as tf from '@tensorflow/tfjs';
import {
  bceWithLogits,
  discriminatorLoss,
  generatorLoss,
  hingeDiscriminatorLoss,
  hingeGeneratorLoss,
  negElbo,
  reparameterize,
  splitLatent,
  type GanLoss,
} from '../../src/models/losses.js';
import type { NetworkPart } from '../../src/models/part.js';
import type { GanGradients, GanParts, GanStepPlan, VaeGradients, VaeParts, VaeStepPlan } from '../../src/models/steps.js';

function inOrder(part: NetworkPart, grads: tf.NamedTensorMap): tf.Tensor[] {
  return part.trainableVariables.map((v) => grads[v.name]!);
}

/** The DCGAN tutorial's train_step: one forward pass, a tape per network (with `loss` 'hinge', over the hinge losses). */
export function fusedGanGradients(parts: GanParts, real: tf.Tensor, plan: GanStepPlan, realLabel = 1, loss: GanLoss = 'bce'): GanGradients {
  const { generator: G, discriminator: D } = parts;
  return tf.tidy(() => {
    const noise = tf.tensor2d(plan.noise, [plan.batchSize, plan.noiseDim]);
    const forward = () => {
      const fake = G.forward(noise, { training: true, seed: plan.seeds.generator });
      return {
        real: D.forward(real, { training: true, seed: plan.seeds.real }),
        fake: D.forward(fake, { training: true, seed: plan.seeds.fake }),
      };
    };
    // tfjs has no persistent tape, so each tape records its own (identical) forward pass.
    const d = tf.variableGrads(() => {
      const o = forward();
      if (loss === 'hinge') return hingeDiscriminatorLoss(o.real, o.fake);
      // One-sided label smoothing: the real images' target is realLabel; the tutorial's loss at 1.
      return realLabel === 1 ? discriminatorLoss(o.real, o.fake) : tf.add(tf.mean(bceWithLogits(o.real, realLabel)), tf.mean(bceWithLogits(o.fake, 0))) as tf.Scalar;
    }, D.trainableVariables);
    const g = tf.variableGrads(() => (loss === 'hinge' ? hingeGeneratorLoss : generatorLoss)(forward().fake), G.trainableVariables);
    return {
      dLoss: d.value,
      gLoss: g.value,
      generatorGrads: inOrder(G, g.grads),
      discriminatorGrads: inOrder(D, d.grads),
    };
  });
}

/** The PyTorch example's VAE step: one tape over the negative ELBO of encoder and decoder. */
export function fusedVaeGradients(parts: VaeParts, x: tf.Tensor, plan: VaeStepPlan): VaeGradients {
  const { encoder: E, decoder: Dec } = parts;
  return tf.tidy(() => {
    const eps = tf.tensor2d(plan.eps, [plan.batchSize, plan.latentDim]);
    let bce: tf.Scalar | undefined;
    let kl: tf.Scalar | undefined;
    const r = tf.variableGrads(() => {
      const { mu, logvar } = splitLatent(E.forward(x, { training: true, seed: plan.seeds.encoder }));
      const logits = Dec.forward(reparameterize(mu, logvar, eps), { training: true, seed: plan.seeds.decoder });
      const terms = negElbo(logits, x, mu, logvar);
      bce = tf.keep(terms.bce);
      kl = tf.keep(terms.kl);
      return terms.loss;
    }, [...E.trainableVariables, ...Dec.trainableVariables]);
    return {
      loss: r.value,
      bce: bce!,
      kl: kl!,
      encoderGrads: inOrder(E, r.grads),
      decoderGrads: inOrder(Dec, r.grads),
    };
  });
}
