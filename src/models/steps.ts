/**
 * Training steps written only in network-part primitives (`forward`, `vjp`,
 * `lossGrad`, `apply`), so the same computation runs with every part in one
 * thread (`--strategy single`) or each part on its own worker (`model`).
 *
 * A step's randomness is drawn up front into a plan (`planGanStep`,
 * `planVaeStep`) in a fixed order; whoever runs the step — one worker or
 * several — draws the same plan from the same Rng and so computes the same
 * numbers. Each half of a step that lives with one network is its own
 * function (`discriminatorBackward`, `decoderBackward`, `latentBackward`) for
 * the actors to call.
 *
 * Cost against one tape over the whole loss: the parts recompute their
 * forward passes — the GAN step runs G twice and D three times (once on real,
 * twice on fake) where one tape runs them once and twice; the VAE step runs the
 * encoder twice and the decoder once. The backward passes are the same.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import type { Rng } from '../rng.js';
import { bceWithLogits, bernoulliNll, gaussianKl, generatorLoss, reparameterize, splitLatent } from './losses.js';
import type { NetworkPart } from './part.js';

/** The randomness of one GAN step: the noise batch and a seed per training pass. */
export interface GanStepPlan {
  /** [batchSize, noiseDim] standard normals, row-major. */
  noise: Float32Array;
  batchSize: number;
  noiseDim: number;
  seeds: { generator: number; real: number; fake: number };
}

/** Draws a GAN step's plan from `rng`: the noise first, then the generator, real and fake pass seeds. */
export function planGanStep(rng: Rng, batchSize: number, noiseDim: number): GanStepPlan {
  const noise = rng.normals(new Float32Array(batchSize * noiseDim));
  const seeds = { generator: rng.nextUint32(), real: rng.nextUint32(), fake: rng.nextUint32() };
  return { noise, batchSize, noiseDim, seeds };
}

export interface GanParts {
  generator: NetworkPart;
  discriminator: NetworkPart;
}

/** What the discriminator computes in a GAN step, given real and generated images. */
export interface DiscriminatorBackward {
  /** BCE(real, 1) + BCE(fake, 0). */
  dLoss: tf.Scalar;
  /** BCE(fake, 1), the non-saturating generator loss. */
  gLoss: tf.Scalar;
  /** ∂gLoss/∂fake at the discriminator's current weights: the generator's upstream gradient. */
  fakeGrad: tf.Tensor;
  /** ∂dLoss/∂w for the discriminator's trainable weights. */
  grads: tf.Tensor[];
}

/**
 * The discriminator's half of a GAN step: its gradients from the
 * discriminator loss on the real and fake passes, and the input gradient of
 * the generator loss on the same fake pass (same dropout mask, as one tape
 * over `generator_loss(fake_output)` would see).
 */
export function discriminatorBackward(
  discriminator: NetworkPart,
  real: tf.Tensor,
  fake: tf.Tensor,
  seeds: { real: number; fake: number },
): DiscriminatorBackward {
  return tf.tidy(() => {
    const onReal = discriminator.lossGrad(real, (l) => tf.mean(bceWithLogits(l, 1)), {
      seed: seeds.real,
      wrt: 'weights',
    });
    const onFake = discriminator.lossGrad(fake, (l) => tf.mean(bceWithLogits(l, 0)), {
      seed: seeds.fake,
      wrt: 'weights',
    });
    const forGenerator = discriminator.lossGrad(fake, generatorLoss, { seed: seeds.fake, wrt: 'input' });
    return {
      dLoss: tf.add(onReal.loss, onFake.loss) as tf.Scalar,
      gLoss: forGenerator.loss,
      fakeGrad: forGenerator.inputGrad!,
      grads: onReal.grads.map((g, i) => tf.add(g, onFake.grads[i]!)),
    };
  });
}

/** A GAN step's losses and both networks' gradients (all at the pre-update weights). */
export interface GanGradients {
  dLoss: tf.Scalar;
  gLoss: tf.Scalar;
  generatorGrads: tf.Tensor[];
  discriminatorGrads: tf.Tensor[];
}

/**
 * The gradients of one DCGAN-tutorial step: G(noise) → D on real and on fake
 * → D's gradients of the discriminator loss, G's gradients through D's input
 * gradient of the generator loss. Nothing is applied.
 */
export function ganGradients(parts: GanParts, real: tf.Tensor, plan: GanStepPlan): GanGradients {
  if (real.shape[0] !== plan.batchSize) {
    throw errors.invalidValue('real batch size', `the plan's ${plan.batchSize}`, real.shape[0]);
  }
  const { generator, discriminator } = parts;
  return tf.tidy(() => {
    const noise = tf.tensor2d(plan.noise, [plan.batchSize, plan.noiseDim]);
    const fake = generator.forward(noise, { training: true, seed: plan.seeds.generator });
    const d = discriminatorBackward(discriminator, real, fake, plan.seeds);
    const g = generator.vjp(noise, d.fakeGrad, { seed: plan.seeds.generator, wrt: 'weights' });
    return { dLoss: d.dLoss, gLoss: d.gLoss, generatorGrads: g.grads, discriminatorGrads: d.grads };
  });
}

/** Losses of a GAN step, as numbers. */
export interface GanLosses {
  dLoss: number;
  gLoss: number;
}

/** One GAN training step: `ganGradients`, then both networks apply their updates. */
export function ganStep(parts: GanParts, real: tf.Tensor, plan: GanStepPlan): GanLosses {
  const losses = tf.tidy(() => {
    const r = ganGradients(parts, real, plan);
    parts.generator.apply(r.generatorGrads);
    parts.discriminator.apply(r.discriminatorGrads);
    return tf.stack([r.dLoss, r.gLoss]);
  });
  try {
    const [dLoss, gLoss] = losses.dataSync();
    return { dLoss: dLoss!, gLoss: gLoss! };
  } finally {
    losses.dispose();
  }
}

/** The randomness of one VAE step: eps for the reparameterisation and a seed per training pass. */
export interface VaeStepPlan {
  /** [batchSize, latentDim] standard normals, row-major. */
  eps: Float32Array;
  batchSize: number;
  latentDim: number;
  seeds: { encoder: number; decoder: number };
}

/** Draws a VAE step's plan from `rng`: eps first, then the encoder and decoder pass seeds. */
export function planVaeStep(rng: Rng, batchSize: number, latentDim: number): VaeStepPlan {
  const eps = rng.normals(new Float32Array(batchSize * latentDim));
  const seeds = { encoder: rng.nextUint32(), decoder: rng.nextUint32() };
  return { eps, batchSize, latentDim, seeds };
}

export interface VaeParts {
  encoder: NetworkPart;
  decoder: NetworkPart;
}

/** z = mu + eps·exp(logvar/2) from an encoder output h = [mu | logvar]. */
export function latentSample(h: tf.Tensor, eps: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { mu, logvar } = splitLatent(h);
    return reparameterize(mu, logvar, eps);
  });
}

/**
 * Back through the reparameterisation: given ∂bce/∂z, the gradient of
 * bce + KL with respect to the encoder output h = [mu | logvar], and the KL.
 */
export function latentBackward(h: tf.Tensor, eps: tf.Tensor, zGrad: tf.Tensor): { hGrad: tf.Tensor; kl: tf.Scalar } {
  return tf.tidy(() => {
    // d/dh [ Σ z(h)·zGrad + KL(h) ] is the chain rule through z plus KL's own gradient.
    const hGrad = tf.grad((hh: tf.Tensor) => {
      const { mu, logvar } = splitLatent(hh);
      return tf.add(tf.sum(tf.mul(reparameterize(mu, logvar, eps), zGrad)), gaussianKl(mu, logvar));
    })(h);
    const { mu, logvar } = splitLatent(h);
    return { hGrad, kl: gaussianKl(mu, logvar) };
  });
}

/** What the decoder computes in a VAE step. */
export interface DecoderBackward {
  /** Bernoulli NLL per image. */
  bce: tf.Scalar;
  /** ∂bce/∂z: the upstream gradient for the encoder side. */
  zGrad: tf.Tensor;
  grads: tf.Tensor[];
}

/** The decoder's half of a VAE step: its loss on the images `x`, its gradients, and ∂bce/∂z. */
export function decoderBackward(decoder: NetworkPart, z: tf.Tensor, x: tf.Tensor, seed: number): DecoderBackward {
  const r = decoder.lossGrad(z, (logits) => bernoulliNll(logits, x), { seed, wrt: 'both' });
  return { bce: r.loss, zGrad: r.inputGrad!, grads: r.grads };
}

/** A VAE step's losses (per image) and both networks' gradients. */
export interface VaeGradients {
  loss: tf.Scalar;
  bce: tf.Scalar;
  kl: tf.Scalar;
  encoderGrads: tf.Tensor[];
  decoderGrads: tf.Tensor[];
}

/**
 * The gradients of one VAE step: encoder forward → z from the plan's eps →
 * decoder loss and gradients → back through the reparameterisation plus the
 * KL gradient → encoder vjp. Nothing is applied.
 */
export function vaeGradients(parts: VaeParts, x: tf.Tensor, plan: VaeStepPlan): VaeGradients {
  if (x.shape[0] !== plan.batchSize) {
    throw errors.invalidValue('image batch size', `the plan's ${plan.batchSize}`, x.shape[0]);
  }
  const { encoder, decoder } = parts;
  return tf.tidy(() => {
    const eps = tf.tensor2d(plan.eps, [plan.batchSize, plan.latentDim]);
    const h = encoder.forward(x, { training: true, seed: plan.seeds.encoder });
    const z = latentSample(h, eps);
    const dec = decoderBackward(decoder, z, x, plan.seeds.decoder);
    const { hGrad, kl } = latentBackward(h, eps, dec.zGrad);
    const enc = encoder.vjp(x, hGrad, { seed: plan.seeds.encoder, wrt: 'weights' });
    return { loss: tf.add(dec.bce, kl) as tf.Scalar, bce: dec.bce, kl, encoderGrads: enc.grads, decoderGrads: dec.grads };
  });
}

/** Losses of a VAE step, per image, as numbers. */
export interface VaeLosses {
  loss: number;
  bce: number;
  kl: number;
}

/** One VAE training step: `vaeGradients`, then both networks apply their updates. */
export function vaeStep(parts: VaeParts, x: tf.Tensor, plan: VaeStepPlan): VaeLosses {
  const losses = tf.tidy(() => {
    const r = vaeGradients(parts, x, plan);
    parts.encoder.apply(r.encoderGrads);
    parts.decoder.apply(r.decoderGrads);
    return tf.stack([r.loss, r.bce, r.kl]);
  });
  try {
    const [loss, bce, kl] = losses.dataSync();
    return { loss: loss!, bce: bce!, kl: kl! };
  } finally {
    losses.dispose();
  }
}

/** Mean negative ELBO per image over a dataset, and its terms. */
export interface VaeEvaluation extends VaeLosses {
  images: number;
}

/**
 * The mean negative ELBO per image (nats) over `batches` of flattened images
 * in [0, 1] (each a Float32Array of n·28·28 values), as the PyTorch example's
 * test loss: the networks in inference mode, z sampled with eps from `rng`.
 */
export function evaluateVae(parts: VaeParts, batches: Iterable<Float32Array>, rng: Rng): VaeEvaluation {
  const imageShape = parts.encoder.model.inputs[0]!.shape.slice(1) as number[];
  const imageSize = imageShape.reduce((a, b) => a * b, 1);
  const latentDim = parts.decoder.model.inputs[0]!.shape[1] as number;
  let bce = 0;
  let kl = 0;
  let images = 0;
  for (const batch of batches) {
    if (batch.length % imageSize !== 0 || batch.length === 0) {
      throw errors.invalidValue('evaluation batch length', `a positive multiple of ${imageSize}`, batch.length);
    }
    const n = batch.length / imageSize;
    const eps = rng.normals(new Float32Array(n * latentDim));
    const sums = tf.tidy(() => {
      const x = tf.tensor(batch, [n, ...imageShape]);
      const h = parts.encoder.forward(x, { training: false });
      const { mu, logvar } = splitLatent(h);
      const logits = parts.decoder.forward(reparameterize(mu, logvar, tf.tensor2d(eps, [n, latentDim])), {
        training: false,
      });
      return tf.mul(tf.stack([bernoulliNll(logits, x), gaussianKl(mu, logvar)]), n);
    });
    const [b, k] = sums.dataSync();
    sums.dispose();
    bce += b!;
    kl += k!;
    images += n;
  }
  if (images === 0) throw errors.invalidValue('evaluation data', 'at least one image', 0);
  return { loss: (bce + kl) / images, bce: bce / images, kl: kl / images, images };
}
