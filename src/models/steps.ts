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
 * Cost against one tape over the whole loss: none in forward passes. The
 * network whose backward must wait for another's gradient (the generator, the
 * encoder) keeps its forward pass's tape (`forwardTaped`), and the
 * discriminator's fake pass serves both its gradients from one tape — so G
 * runs once and D twice (real, fake), the encoder and decoder once each, as
 * one tape over the whole loss would. The backward passes are the same.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import type { Rng } from '../rng.js';
import {
  bceWithLogits,
  bernoulliNll,
  gaussianKl,
  generatorLoss,
  hingeFakeLoss,
  hingeGeneratorLoss,
  hingeRealLoss,
  reparameterize,
  splitLatent,
  type GanLoss,
} from './losses.js';
import type { NetworkPart } from './part.js';
import { r1Gradients } from './r1.js';

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
  /** BCE(real, 1) + BCE(fake, 0) (hinge: mean(relu(1 - real)) + mean(relu(1 + fake))). */
  dLoss: tf.Scalar;
  /** BCE(fake, 1), the non-saturating generator loss (hinge: -mean(fake)). */
  gLoss: tf.Scalar;
  /** ∂gLoss/∂fake at the discriminator's current weights: the generator's upstream gradient. */
  fakeGrad: tf.Tensor;
  /** ∂dLoss/∂w for the discriminator's trainable weights. */
  grads: tf.Tensor[];
}

/**
 * `loss` times `weight`, skipped when the weight is 1 so that an unsplit step
 * runs exactly the ops it always did.
 */
function weighted(loss: tf.Scalar, weight: number): tf.Scalar {
  return weight === 1 ? loss : tf.mul(loss, weight);
}

/**
 * The discriminator's half of a GAN step: its gradients from the
 * discriminator loss on the real and fake passes, and the input gradient of
 * the generator loss on the same fake pass (same dropout mask, as one tape
 * over `generator_loss(fake_output)` would see).
 *
 * `weight` scales both losses (and so every gradient): a microbatch or a
 * replica's shard of n images out of a global batch of B passes n/B, so that
 * the weighted parts sum to the global batch's mean loss and its gradients.
 * `realLabel` is the target of the real images (below 1: one-sided label
 * smoothing; the fake target stays 0 and the generator's stays 1). `loss`
 * picks the adversarial loss: 'bce' (the tutorial's) or 'hinge' (which has no
 * targets, so `realLabel` is ignored). `r1` above 0 adds the gradients of the
 * R1 penalty on the real images with that γ (r1.ts; `r1Weight` gives a
 * step's), also times `weight`; `dLoss` stays the adversarial loss alone.
 */
export function discriminatorBackward(
  discriminator: NetworkPart,
  real: tf.Tensor,
  fake: tf.Tensor,
  seeds: { real: number; fake: number },
  weight = 1,
  realLabel = 1,
  loss: GanLoss = 'bce',
  r1 = 0,
): DiscriminatorBackward {
  const hinge = loss === 'hinge';
  const realLoss = (l: tf.Tensor): tf.Scalar => (hinge ? hingeRealLoss(l) : tf.mean(bceWithLogits(l, realLabel)));
  const fakeLoss = (l: tf.Tensor): tf.Scalar => (hinge ? hingeFakeLoss(l) : tf.mean(bceWithLogits(l, 0)));
  const forGeneratorLoss = (l: tf.Tensor): tf.Scalar => (hinge ? hingeGeneratorLoss(l) : generatorLoss(l));
  return tf.tidy(() => {
    const onReal = discriminator.lossGrad(real, (l) => weighted(realLoss(l), weight), {
      seed: seeds.real,
      wrt: 'weights',
    });
    // One forward pass on the fake batch, kept on its tape, serves both of its
    // backward passes: the discriminator loss (to the weights) and the generator
    // loss (to the fake images).
    const pass = discriminator.forwardTaped(fake, { seed: seeds.fake });
    try {
      const onFake = tf.valueAndGrad((l: tf.Tensor) => weighted(fakeLoss(l), weight))(pass.output);
      const forGenerator = tf.valueAndGrad((l: tf.Tensor) => weighted(forGeneratorLoss(l), weight))(pass.output);
      const fakeGrads = discriminator.vjpTaped(pass, fake, onFake.grad, 'weights').grads;
      const penalty = r1 > 0 ? r1Gradients(discriminator, real, r1 * weight) : undefined;
      return {
        dLoss: tf.add(onReal.loss, onFake.value) as tf.Scalar,
        gLoss: forGenerator.value as tf.Scalar,
        fakeGrad: discriminator.vjpTaped(pass, fake, forGenerator.grad, 'input').inputGrad!,
        grads: onReal.grads.map((g, i) => (penalty ? tf.addN([g, fakeGrads[i]!, penalty[i]!]) : tf.add(g, fakeGrads[i]!))),
      };
    } finally {
      pass.dispose();
    }
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
 * gradient of the generator loss. Nothing is applied. `weight` scales the
 * losses and gradients, `realLabel` and `loss` pick the loss, `r1` weighs the
 * R1 penalty (see `discriminatorBackward`).
 */
export function ganGradients(
  parts: GanParts,
  real: tf.Tensor,
  plan: GanStepPlan,
  weight = 1,
  realLabel = 1,
  loss: GanLoss = 'bce',
  r1 = 0,
): GanGradients {
  if (real.shape[0] !== plan.batchSize) {
    throw errors.invalidValue('real batch size', `the plan's ${plan.batchSize}`, real.shape[0]);
  }
  const { generator, discriminator } = parts;
  return tf.tidy(() => {
    const noise = tf.tensor2d(plan.noise, [plan.batchSize, plan.noiseDim]);
    const pass = generator.forwardTaped(noise, { seed: plan.seeds.generator });
    try {
      const d = discriminatorBackward(discriminator, real, pass.output, plan.seeds, weight, realLabel, loss, r1);
      const g = generator.vjpTaped(pass, noise, d.fakeGrad, 'weights');
      return { dLoss: d.dLoss, gLoss: d.gLoss, generatorGrads: g.grads, discriminatorGrads: d.grads };
    } finally {
      pass.dispose();
    }
  });
}

/** Losses of a GAN step, as numbers. */
export interface GanLosses {
  dLoss: number;
  gLoss: number;
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
 * `weight` scales the KL term (and the returned KL); `zGrad` comes already
 * scaled from a weighted decoder loss (see `discriminatorBackward`).
 */
export function latentBackward(
  h: tf.Tensor,
  eps: tf.Tensor,
  zGrad: tf.Tensor,
  weight = 1,
): { hGrad: tf.Tensor; kl: tf.Scalar } {
  return tf.tidy(() => {
    // d/dh [ Σ z(h)·zGrad + KL(h) ] is the chain rule through z plus KL's own gradient.
    const hGrad = tf.grad((hh: tf.Tensor) => {
      const { mu, logvar } = splitLatent(hh);
      return tf.add(tf.sum(tf.mul(reparameterize(mu, logvar, eps), zGrad)), weighted(gaussianKl(mu, logvar), weight));
    })(h);
    const { mu, logvar } = splitLatent(h);
    return { hGrad, kl: weighted(gaussianKl(mu, logvar), weight) };
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

/**
 * The decoder's half of a VAE step: its loss on the images `x`, its
 * gradients, and ∂bce/∂z; `weight` scales all three (see `discriminatorBackward`).
 */
export function decoderBackward(decoder: NetworkPart, z: tf.Tensor, x: tf.Tensor, seed: number, weight = 1): DecoderBackward {
  const r = decoder.lossGrad(z, (logits) => weighted(bernoulliNll(logits, x), weight), { seed, wrt: 'both' });
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
 * KL gradient → encoder vjp. Nothing is applied. `weight` scales the losses
 * and gradients (see `discriminatorBackward`).
 */
export function vaeGradients(parts: VaeParts, x: tf.Tensor, plan: VaeStepPlan, weight = 1): VaeGradients {
  if (x.shape[0] !== plan.batchSize) {
    throw errors.invalidValue('image batch size', `the plan's ${plan.batchSize}`, x.shape[0]);
  }
  const { encoder, decoder } = parts;
  return tf.tidy(() => {
    const eps = tf.tensor2d(plan.eps, [plan.batchSize, plan.latentDim]);
    const pass = encoder.forwardTaped(x, { seed: plan.seeds.encoder });
    try {
      const h = pass.output;
      const z = latentSample(h, eps);
      const dec = decoderBackward(decoder, z, x, plan.seeds.decoder, weight);
      const { hGrad, kl } = latentBackward(h, eps, dec.zGrad, weight);
      const enc = encoder.vjpTaped(pass, x, hGrad, 'weights');
      return { loss: tf.add(dec.bce, kl) as tf.Scalar, bce: dec.bce, kl, encoderGrads: enc.grads, decoderGrads: dec.grads };
    } finally {
      pass.dispose();
    }
  });
}

/** Losses of a VAE step, per image, as numbers. */
export interface VaeLosses {
  loss: number;
  bce: number;
  kl: number;
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
export async function evaluateVae(parts: VaeParts, batches: Iterable<Float32Array>, rng: Rng): Promise<VaeEvaluation> {
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
    const [b, k] = await sums.data().finally(() => sums.dispose());
    bce += b!;
    kl += k!;
    images += n;
  }
  if (images === 0) throw errors.invalidValue('evaluation data', 'at least one image', 0);
  return { loss: (bce + kl) / images, bce: bce / images, kl: kl / images, images };
}
