/**
 * The baselines: each benchmarked model written the way a TensorFlow.js user
 * writes it from the reference it follows — `tf.layers` models, `tf.train.adam`,
 * `optimizer.minimize` or `tf.variableGrads` + `applyGradients` — with nothing
 * of paragen. This folder imports only `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm` (a test checks it), so that paragen's wasm
 * kernels can never be registered where a baseline runs.
 *
 * - `vae-mlp`: the PyTorch examples' VAE (784-400-20, BCE summed + KL), Adam 1e-3.
 * - `vae-conv`: paragen's conv VAE layer for layer, same loss.
 * - `dcgan`, `dcgan-small`: the TensorFlow DCGAN tutorial's train_step. The
 *   tutorial records one tape per network over one forward pass; tfjs has no
 *   persistent tapes, so a tfjs user calls `tf.variableGrads` once per
 *   network, and the generator's forward pass and the discriminator's pass on
 *   fakes run twice (counted in ../flops.ts).
 */
import * as tf from '@tensorflow/tfjs';

/** One training step on `images` (uint8 [B, 28, 28]), returning the loss(es). */
export type TrainStep = (images: Uint8Array, batchSize: number) => Promise<number[]>;

export interface PlainModel {
  readonly step: TrainStep;
  dispose(): void;
}

interface GanWidths {
  dense: number;
  deconv: [number, number];
  conv: [number, number];
  /** The discriminator's dropout rate. */
  dropout: number;
}

const GAN_WIDTHS: Record<string, GanWidths> = {
  dcgan: { dense: 256, deconv: [128, 64], conv: [64, 128], dropout: 0.3 },
  'dcgan-small': { dense: 64, deconv: [32, 16], conv: [16, 32], dropout: 0 },
};

/** The model named `name` (a paragen model name), ready to train. */
export function plainModel(name: string): PlainModel {
  const widths = GAN_WIDTHS[name];
  if (widths) return dcgan(widths);
  if (name === 'vae-mlp') return vae(mlpEncoder(), mlpDecoder());
  if (name === 'vae-conv') return vae(convEncoder(), convDecoder());
  throw new Error(`no baseline for model '${name}'`);
}

// ---- DCGAN, from https://www.tensorflow.org/tutorials/generative/dcgan ----

function makeGenerator(w: GanWidths): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 7 * 7 * w.dense, useBias: false, inputShape: [100] }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.leakyReLU());
  model.add(tf.layers.reshape({ targetShape: [7, 7, w.dense] }));
  model.add(tf.layers.conv2dTranspose({ filters: w.deconv[0], kernelSize: 5, strides: 1, padding: 'same', useBias: false }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.leakyReLU());
  model.add(tf.layers.conv2dTranspose({ filters: w.deconv[1], kernelSize: 5, strides: 2, padding: 'same', useBias: false }));
  model.add(tf.layers.batchNormalization());
  model.add(tf.layers.leakyReLU());
  model.add(
    tf.layers.conv2dTranspose({ filters: 1, kernelSize: 5, strides: 2, padding: 'same', useBias: false, activation: 'tanh' }),
  );
  return model;
}

function makeDiscriminator(w: GanWidths): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ filters: w.conv[0], kernelSize: 5, strides: 2, padding: 'same', inputShape: [28, 28, 1] }));
  model.add(tf.layers.leakyReLU());
  model.add(tf.layers.dropout({ rate: w.dropout }));
  model.add(tf.layers.conv2d({ filters: w.conv[1], kernelSize: 5, strides: 2, padding: 'same' }));
  model.add(tf.layers.leakyReLU());
  model.add(tf.layers.dropout({ rate: w.dropout }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 1 }));
  return model;
}

/** Binary cross-entropy from logits, as `tf.keras.losses.BinaryCrossentropy(from_logits=True)`. */
function bce(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
}

/** `variableGrads`' map in the list form `applyGradients` is typed for. */
function named(grads: tf.NamedTensorMap): { name: string; tensor: tf.Tensor }[] {
  return Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
}

function variablesOf(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

function dcgan(widths: GanWidths): PlainModel {
  const generator = makeGenerator(widths);
  const discriminator = makeDiscriminator(widths);
  const generatorOptimizer = tf.train.adam(1e-4);
  const discriminatorOptimizer = tf.train.adam(1e-4);
  const step: TrainStep = async (images, batchSize) => {
    const losses = tf.tidy(() => {
      // The tutorial feeds images scaled to [-1, 1].
      const real = tf.tensor4d(images, [batchSize, 28, 28, 1], 'float32').sub(127.5).div(127.5);
      const noise = tf.randomNormal([batchSize, 100]);
      const g = tf.variableGrads(() => {
        const fake = generator.apply(noise, { training: true }) as tf.Tensor;
        const fakeOutput = discriminator.apply(fake, { training: true }) as tf.Tensor;
        return bce(tf.onesLike(fakeOutput), fakeOutput);
      }, variablesOf(generator));
      const d = tf.variableGrads(() => {
        const fake = generator.apply(noise, { training: true }) as tf.Tensor;
        const realOutput = discriminator.apply(real, { training: true }) as tf.Tensor;
        const fakeOutput = discriminator.apply(fake, { training: true }) as tf.Tensor;
        return tf.add(bce(tf.onesLike(realOutput), realOutput), bce(tf.zerosLike(fakeOutput), fakeOutput)) as tf.Scalar;
      }, variablesOf(discriminator));
      // Both gradients first, then both updates, as the tutorial's train_step.
      generatorOptimizer.applyGradients(named(g.grads));
      discriminatorOptimizer.applyGradients(named(d.grads));
      return tf.stack([d.value, g.value]);
    });
    return Array.from(await losses.data().finally(() => losses.dispose()));
  };
  return {
    step,
    dispose() {
      generator.dispose();
      discriminator.dispose();
      generatorOptimizer.dispose();
      discriminatorOptimizer.dispose();
    },
  };
}

// ---- VAE, from https://github.com/pytorch/examples/blob/main/vae/main.py ----

function mlpEncoder(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
  model.add(tf.layers.dense({ units: 400, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 40 })); // fc21 | fc22 side by side: [mu | logvar]
  return model;
}

function mlpDecoder(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 400, activation: 'relu', inputShape: [20] }));
  model.add(tf.layers.dense({ units: 784 }));
  return model;
}

function convEncoder(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', inputShape: [28, 28, 1] }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 32 }));
  return model;
}

function convDecoder(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 7 * 7 * 64, activation: 'relu', inputShape: [16] }));
  model.add(tf.layers.reshape({ targetShape: [7, 7, 64] }));
  model.add(tf.layers.conv2dTranspose({ filters: 32, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }));
  model.add(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 4, strides: 2, padding: 'same' }));
  model.add(tf.layers.flatten());
  return model;
}

function vae(encoder: tf.Sequential, decoder: tf.Sequential): PlainModel {
  const latent = (encoder.outputs[0]!.shape[1] as number) / 2;
  const optimizer = tf.train.adam(1e-3);
  const step: TrainStep = async (images, batchSize) => {
    const cost = tf.tidy(() => {
      const x = tf.tensor4d(images, [batchSize, 28, 28, 1], 'float32').div(255);
      const target = x.reshape([batchSize, 784]);
      return optimizer.minimize(() => {
        const h = encoder.apply(x) as tf.Tensor2D;
        const mu = h.slice([0, 0], [batchSize, latent]);
        const logvar = h.slice([0, latent], [batchSize, latent]);
        const z = mu.add(tf.randomNormal([batchSize, latent]).mul(logvar.mul(0.5).exp()));
        const logits = decoder.apply(z) as tf.Tensor;
        // BCE(sigmoid(logits), x) summed, written stably on logits; KL to N(0, I) summed.
        const bceSum = tf.sum(tf.relu(logits).sub(logits.mul(target)).add(tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
        const kl = tf.sum(tf.scalar(1).add(logvar).sub(mu.square()).sub(logvar.exp())).mul(-0.5);
        return bceSum.add(kl) as tf.Scalar;
      }, true)!;
    });
    return [(await cost.data().finally(() => cost.dispose()))[0]! / batchSize];
  };
  return {
    step,
    dispose() {
      encoder.dispose();
      decoder.dispose();
      optimizer.dispose();
    },
  };
}
