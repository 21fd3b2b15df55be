/**
 * The losses paragen trains with, on logits throughout so that no network has
 * to end in a sigmoid and no loss ever takes the log of an underflowed 0.
 *
 * - GAN: the non-saturating loss of the TensorFlow DCGAN tutorial
 *   (`BinaryCrossentropy(from_logits=True)`, a mean over the batch), or the
 *   hinge loss (`hingeDiscriminatorLoss`, `hingeGeneratorLoss`).
 * - VAE: the negative ELBO of the PyTorch examples VAE — summed Bernoulli
 *   cross-entropy plus the analytic Gaussian KL — reported per image
 *   (summed over pixels and latent dimensions, averaged over the batch).
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';

/**
 * Elementwise binary cross-entropy of `targets` under Bernoulli `logits`, in
 * the stable form `max(x, 0) - x·z + log(1 + exp(-|x|))`. The naive
 * `-z·log σ(x) - (1-z)·log(1-σ(x))` overflows to Infinity once σ(x) rounds to
 * 0 or 1 (|x| ≳ 17 in float32); this form never exponentiates a positive number.
 */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor | number): tf.Tensor {
  return tf.tidy(() =>
    tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, targets)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    ),
  );
}

/**
 * Discriminator loss: BCE(real, 1) + BCE(fake, 0), each a mean over the batch,
 * as the DCGAN tutorial's `discriminator_loss`.
 */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(bceWithLogits(realLogits, 1)), tf.mean(bceWithLogits(fakeLogits, 0))));
}

/** Non-saturating generator loss: BCE(fake, 1), a mean over the batch. */
export function generatorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(bceWithLogits(fakeLogits, 1)));
}

/** Which adversarial loss a GAN step trains with: the tutorial's non-saturating BCE, or the hinge loss. */
export type GanLoss = 'bce' | 'hinge';

/** The real half of the hinge discriminator loss: mean(relu(1 - d_real)). */
export function hingeRealLoss(realLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.relu(tf.sub(1, realLogits))));
}

/** The fake half of the hinge discriminator loss: mean(relu(1 + d_fake)). */
export function hingeFakeLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.relu(tf.add(1, fakeLogits))));
}

/** Hinge discriminator loss: mean(relu(1 - d_real)) + mean(relu(1 + d_fake)). */
export function hingeDiscriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.add(hingeRealLoss(realLogits), hingeFakeLoss(fakeLogits)));
}

/** Hinge generator loss: -mean(d_fake). */
export function hingeGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean<tf.Scalar>(fakeLogits)));
}

/** Sums every axis but the first (the batch), then averages over the batch. */
function perImageMean(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(x), x.shape[0] ?? 1));
}

/**
 * Bernoulli negative log-likelihood of images `x` in [0, 1] under decoder
 * `logits` of the same shape: summed over pixels, averaged over the batch
 * (the PyTorch example's `binary_cross_entropy(..., reduction='sum')`, divided
 * by the batch size).
 */
export function bernoulliNll(logits: tf.Tensor, x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => perImageMean(bceWithLogits(logits, x)));
}

/**
 * KL(N(mu, exp(logvar)) ‖ N(0, I)) = -0.5·Σ(1 + logvar - mu² - exp(logvar)),
 * summed over latent dimensions, averaged over the batch.
 */
export function gaussianKl(mu: tf.Tensor, logvar: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    perImageMean(tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, logvar), tf.square(mu)), tf.exp(logvar)))),
  );
}

/**
 * Splits an encoder output `[B, 2L]` into `mu` (the first L columns) and
 * `logvar` (the last L). paragen's encoders end in one dense layer of 2L units
 * rather than two heads, which is the same function (the two heads' kernels
 * side by side) and keeps every network a plain `Sequential`.
 */
export function splitLatent(h: tf.Tensor): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
  const [batch, width] = h.shape as [number, number];
  if (h.rank !== 2 || width % 2 !== 0) {
    throw errors.internal(`an encoder output must be [B, 2L], got [${h.shape.join(', ')}]`);
  }
  const latent = width / 2;
  return tf.tidy(() => ({
    mu: tf.slice(h, [0, 0], [batch, latent]) as tf.Tensor2D,
    logvar: tf.slice(h, [0, latent], [batch, latent]) as tf.Tensor2D,
  }));
}

/** The reparameterisation trick: z = mu + eps·exp(logvar / 2), with eps ~ N(0, I) given. */
export function reparameterize(mu: tf.Tensor, logvar: tf.Tensor, eps: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(mu, tf.mul(eps, tf.exp(tf.mul(0.5, logvar)))));
}

/** The negative ELBO per image and its two terms, as scalars. */
export interface NegElbo {
  loss: tf.Scalar;
  bce: tf.Scalar;
  kl: tf.Scalar;
}

/** Negative ELBO = Bernoulli NLL of `x` under `logits` + KL of the posterior, per image. */
export function negElbo(logits: tf.Tensor, x: tf.Tensor, mu: tf.Tensor, logvar: tf.Tensor): NegElbo {
  return tf.tidy(() => {
    const bce = bernoulliNll(logits, x);
    const kl = gaussianKl(mu, logvar);
    return { loss: tf.add(bce, kl) as tf.Scalar, bce, kl };
  });
}
