/**
 * The DCGAN networks of the TensorFlow tutorial
 * (https://www.tensorflow.org/tutorials/generative/dcgan), layer for layer,
 * with the widths as parameters so that `dcgan-small` is the same shape with
 * fewer filters. Layers use Keras's defaults, which tfjs shares except for the
 * kernel initializer (tfjs defaults to Glorot normal, Keras to Glorot uniform),
 * so that one is set explicitly.
 */
import * as tf from '@tensorflow/tfjs';

/** Filter counts of a DCGAN: the tutorial's are `{ dense: 256, deconv: [128, 64], conv: [64, 128] }`. */
export interface DcganWidths {
  /** Channels of the 7×7 map the generator's dense layer produces. */
  dense: number;
  /** Filters of the two inner transposed convolutions (7×7 s1, then 14×14 s2). */
  deconv: readonly [number, number];
  /** Filters of the discriminator's two convolutions (14×14, then 7×7). */
  conv: readonly [number, number];
  /** The discriminator's dropout rate (the tutorial's 0.3 when absent). */
  dropout?: number;
}

const KERNEL = 'glorotUniform';

/**
 * Generator: noise [B, noiseDim] → images [B, 28, 28, 1] in [-1, 1].
 * dense 7·7·w (no bias) → BN → LeakyReLU → reshape → deconv w1 k5 s1 (no bias)
 * → BN → LeakyReLU → deconv w2 k5 s2 (no bias) → BN → LeakyReLU → deconv 1 k5 s2
 * (no bias) tanh.
 */
export function dcganGenerator(widths: DcganWidths, noiseDim: number): tf.Sequential {
  const [w1, w2] = widths.deconv;
  const deconv = (name: string, filters: number, strides: number, activation?: 'tanh') =>
    tf.layers.conv2dTranspose({
      name,
      filters,
      kernelSize: 5,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: KERNEL,
      ...(activation ? { activation } : {}),
    });
  return tf.sequential({
    name: 'generator',
    layers: [
      tf.layers.dense({
        name: 'dense',
        units: 7 * 7 * widths.dense,
        useBias: false,
        kernelInitializer: KERNEL,
        inputShape: [noiseDim],
      }),
      tf.layers.batchNormalization({ name: 'dense_bn' }),
      tf.layers.leakyReLU({ name: 'dense_lrelu' }),
      tf.layers.reshape({ name: 'reshape', targetShape: [7, 7, widths.dense] }),
      deconv('deconv1', w1, 1),
      tf.layers.batchNormalization({ name: 'deconv1_bn' }),
      tf.layers.leakyReLU({ name: 'deconv1_lrelu' }),
      deconv('deconv2', w2, 2),
      tf.layers.batchNormalization({ name: 'deconv2_bn' }),
      tf.layers.leakyReLU({ name: 'deconv2_lrelu' }),
      deconv('deconv3', 1, 2, 'tanh'),
    ],
  });
}

/**
 * Discriminator: images [B, 28, 28, 1] → logits [B, 1].
 * conv w1 k5 s2 → LeakyReLU → dropout 0.3 → conv w2 k5 s2 → LeakyReLU →
 * dropout 0.3 → flatten → dense 1.
 */
export function dcganDiscriminator(widths: DcganWidths): tf.Sequential {
  const [w1, w2] = widths.conv;
  return tf.sequential({
    name: 'discriminator',
    layers: [
      tf.layers.conv2d({
        name: 'conv1',
        filters: w1,
        kernelSize: 5,
        strides: 2,
        padding: 'same',
        kernelInitializer: KERNEL,
        inputShape: [28, 28, 1],
      }),
      tf.layers.leakyReLU({ name: 'conv1_lrelu' }),
      tf.layers.dropout({ name: 'conv1_dropout', rate: widths.dropout ?? 0.3 }),
      tf.layers.conv2d({ name: 'conv2', filters: w2, kernelSize: 5, strides: 2, padding: 'same', kernelInitializer: KERNEL }),
      tf.layers.leakyReLU({ name: 'conv2_lrelu' }),
      tf.layers.dropout({ name: 'conv2_dropout', rate: widths.dropout ?? 0.3 }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ name: 'logits', units: 1, kernelInitializer: KERNEL }),
    ],
  });
}
