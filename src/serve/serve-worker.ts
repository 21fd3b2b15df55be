/**
 * The server's tasks on the sample pool's threads (src/eval/sample-pool.ts):
 * one forward pass over a whole batch of requests. Each request's noise is
 * its seed's stream from the start, exactly as `sampleImages` draws it, so a
 * request gets the images `paragen sample` gives for that seed, whatever
 * other requests share its batch.
 *
 * A thread keeps the networks of the newest checkpoint it was sent (by key)
 * and rebuilds them only when the server loads another one.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendChoice } from '../backend/index.js';
import { createPart, modelSpec, splitLatent, type ModelSpec, type NetworkPart } from '../models/index.js';
import { Rng } from '../rng.js';

/** One request of a batch: `count` images from `seed`'s noise, or from the latent vectors `z` (count × dim). */
export type NoiseSource = { readonly count: number; readonly seed: number } | { readonly count: number; readonly z: Float32Array };

interface TaskBase {
  readonly model: string;
  readonly key: string;
  readonly backend: BackendChoice;
}

export interface ImagesTask extends TaskBase {
  readonly weights: readonly Float32Array[];
  readonly sources: readonly NoiseSource[];
}

export interface ReconstructTask extends TaskBase {
  readonly encoderWeights: readonly Float32Array[];
  readonly decoderWeights: readonly Float32Array[];
  /** `count` images, [count, 28, 28, 1] flattened, in [0, 1]. */
  readonly images: Float32Array;
  readonly count: number;
}

export interface Reconstruction {
  readonly images: Float32Array;
  /** The latent means, [count, latentDim]. */
  readonly mu: Float32Array;
}

let backendReady: Promise<unknown> | undefined;
const cache = new Map<string, NetworkPart>();
let cachedKey: string | undefined;

/** The network `name` of checkpoint `key`, built once per key; older keys' networks are freed. */
function network(spec: ModelSpec, key: string, name: 'generator' | 'decoder' | 'encoder', weights: readonly Float32Array[]): NetworkPart {
  if (cachedKey !== key) {
    for (const part of cache.values()) part.dispose();
    cache.clear();
    cachedKey = key;
  }
  let part = cache.get(name);
  if (!part) {
    // The weights are overwritten at once: the seed only has to build the network.
    part = createPart(spec, name, 0);
    part.setWeights(weights);
    cache.set(name, part);
  }
  return part;
}

function noiseOf(sources: readonly NoiseSource[], dim: number): { noise: Float32Array; total: number } {
  const total = sources.reduce((a, s) => a + s.count, 0);
  const noise = new Float32Array(total * dim);
  let offset = 0;
  for (const source of sources) {
    const view = noise.subarray(offset, offset + source.count * dim);
    if ('z' in source) view.set(source.z);
    else new Rng(source.seed).normals(view);
    offset += source.count * dim;
  }
  return { noise, total };
}

/** A forward pass's output mapped to [0, 1], as `sampleImages` maps it. */
function toUnit(spec: ModelSpec, y: tf.Tensor): tf.Tensor {
  return spec.range === 'tanh' ? tf.div(tf.add(tf.clipByValue(y, -1, 1), 1), 2) : tf.sigmoid(y);
}

/** Every source's images, one after another, [total, 28, 28, 1] flattened. */
export async function images(task: ImagesTask): Promise<Float32Array> {
  backendReady ??= useBackend(task.backend);
  await backendReady;
  const spec = modelSpec(task.model);
  const name = spec.kind === 'gan' ? 'generator' : 'decoder';
  const dim = spec.kind === 'gan' ? spec.noiseDim : spec.latentDim;
  const part = network(spec, task.key, name, task.weights);
  const { noise, total } = noiseOf(task.sources, dim);
  const out = tf.tidy(() => toUnit(spec, part.forward(tf.tensor2d(noise, [total, dim]), { training: false })));
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** A VAE's reconstructions of `images` (the decoder on the latent means) and those means. */
export async function reconstruct(task: ReconstructTask): Promise<Reconstruction> {
  backendReady ??= useBackend(task.backend);
  await backendReady;
  const spec = modelSpec(task.model);
  const encoder = network(spec, task.key, 'encoder', task.encoderWeights);
  const decoder = network(spec, task.key, 'decoder', task.decoderWeights);
  const [mu, recon] = tf.tidy(() => {
    const x = tf.tensor4d(task.images, [task.count, ...spec.imageShape]);
    const { mu } = splitLatent(encoder.forward(x, { training: false }));
    return [mu, toUnit(spec, decoder.forward(mu, { training: false }))] as const;
  });
  try {
    return { images: (await recon.data()) as Float32Array, mu: (await mu.data()) as Float32Array };
  } finally {
    mu.dispose();
    recon.dispose();
  }
}

/** This thread's live tensor count: the networks it keeps, nothing per request (tested). */
export function tensors(): number {
  return tf.memory().numTensors;
}
