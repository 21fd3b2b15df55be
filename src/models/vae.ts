/**
 * The VAE networks. Encoders take images [B, 28, 28, 1] in [0, 1] and end in
 * ONE dense layer of 2·latent units, read as [mu | logvar] (`splitLatent` in
 * losses.ts). That is the same function as the PyTorch example's two heads
 * fc21/fc22 (their kernels side by side) and keeps every network a plain
 * `Sequential` with one input and one output. Decoders take z [B, latent] and
 * return Bernoulli logits [B, 28, 28, 1]: no sigmoid inside the model, the
 * loss works on logits.
 */
import * as tf from '@tensorflow/tfjs';

const KERNEL = 'glorotUniform';

/** `vae-mlp` encoder (PyTorch examples' VAE): flatten → dense 400 ReLU → dense 2·latent. */
export function mlpEncoder(latentDim: number, hidden = 400): tf.Sequential {
  return tf.sequential({
    name: 'encoder',
    layers: [
      tf.layers.flatten({ name: 'flatten', inputShape: [28, 28, 1] }),
      tf.layers.dense({ name: 'hidden', units: hidden, activation: 'relu', kernelInitializer: KERNEL }),
      tf.layers.dense({ name: 'mu_logvar', units: 2 * latentDim, kernelInitializer: KERNEL }),
    ],
  });
}

/** `vae-mlp` decoder: dense 400 ReLU → dense 784 logits → reshape [28, 28, 1]. */
export function mlpDecoder(latentDim: number, hidden = 400): tf.Sequential {
  return tf.sequential({
    name: 'decoder',
    layers: [
      tf.layers.dense({
        name: 'hidden',
        units: hidden,
        activation: 'relu',
        kernelInitializer: KERNEL,
        inputShape: [latentDim],
      }),
      tf.layers.dense({ name: 'logits', units: 28 * 28, kernelInitializer: KERNEL }),
      tf.layers.reshape({ name: 'reshape', targetShape: [28, 28, 1] }),
    ],
  });
}

/** `vae-conv` encoder: conv 32 k4 s2 ReLU (14×14) → conv 64 k4 s2 ReLU (7×7) → flatten → dense 2·latent. */
export function convEncoder(latentDim: number): tf.Sequential {
  const conv = (name: string, filters: number, first: boolean) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 4,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: KERNEL,
      ...(first ? { inputShape: [28, 28, 1] } : {}),
    });
  return tf.sequential({
    name: 'encoder',
    layers: [
      conv('conv1', 32, true),
      conv('conv2', 64, false),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ name: 'mu_logvar', units: 2 * latentDim, kernelInitializer: KERNEL }),
    ],
  });
}

/** `vae-conv` decoder: dense 7·7·64 ReLU → reshape → deconv 32 k4 s2 ReLU (14×14) → deconv 1 k4 s2 logits (28×28). */
export function convDecoder(latentDim: number): tf.Sequential {
  return tf.sequential({
    name: 'decoder',
    layers: [
      tf.layers.dense({
        name: 'hidden',
        units: 7 * 7 * 64,
        activation: 'relu',
        kernelInitializer: KERNEL,
        inputShape: [latentDim],
      }),
      tf.layers.reshape({ name: 'reshape', targetShape: [7, 7, 64] }),
      tf.layers.conv2dTranspose({
        name: 'deconv1',
        filters: 32,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: KERNEL,
      }),
      tf.layers.conv2dTranspose({
        name: 'logits',
        filters: 1,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        kernelInitializer: KERNEL,
      }),
    ],
  });
}
