/**
 * One-thread training steps, test oracles: `ganGradients` / `vaeGradients`
 * (src/models/steps.ts), then every network applies its update, as one
 * thread would train without the actors.
 */
import * as tf from '@tensorflow/tfjs';
import {
  ganGradients,
  vaeGradients,
  type GanLosses,
  type GanParts,
  type GanStepPlan,
  type VaeLosses,
  type VaeParts,
  type VaeStepPlan,
} from '../../src/models/index.js';

/** One GAN training step: `ganGradients`, then both networks apply their updates. */
export async function ganStep(parts: GanParts, real: tf.Tensor, plan: GanStepPlan): Promise<GanLosses> {
  const losses = tf.tidy(() => {
    const r = ganGradients(parts, real, plan);
    parts.generator.apply(r.generatorGrads);
    parts.discriminator.apply(r.discriminatorGrads);
    return tf.stack([r.dLoss, r.gLoss]);
  });
  try {
    const [dLoss, gLoss] = await losses.data();
    return { dLoss: dLoss!, gLoss: gLoss! };
  } finally {
    losses.dispose();
  }
}

/** One VAE training step: `vaeGradients`, then both networks apply their updates. */
export async function vaeStep(parts: VaeParts, x: tf.Tensor, plan: VaeStepPlan): Promise<VaeLosses> {
  const losses = tf.tidy(() => {
    const r = vaeGradients(parts, x, plan);
    parts.encoder.apply(r.encoderGrads);
    parts.decoder.apply(r.decoderGrads);
    return tf.stack([r.loss, r.bce, r.kl]);
  });
  try {
    const [loss, bce, kl] = await losses.data();
    return { loss: loss!, bce: bce!, kl: kl! };
  } finally {
    losses.dispose();
  }
}
