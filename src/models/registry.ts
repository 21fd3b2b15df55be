/**
 * The models paragen trains, by name: what networks each has, how to build
 * them with seeded weights, the data range they expect and the training
 * defaults of the reference each follows.
 */
import type * as tf from '@tensorflow/tfjs';
import { MODELS, type GanModelName, type GanNetwork, type ModelName, type NetworkName, type VaeModelName, type VaeNetwork } from '../domain.js';
import { errors } from '../errors.js';
import { Rng } from '../rng.js';
import type { AdamConfig } from './adam.js';
import { dcganDiscriminator, dcganGenerator, type DcganWidths } from './dcgan.js';
import { initializeWeights } from './init.js';
import { NetworkPart } from './part.js';
import type { R1Penalty } from './r1.js';
import { convDecoder, convEncoder, mlpDecoder, mlpEncoder } from './vae.js';

export type { GanModelName, GanNetwork, ModelName, NetworkName, VaeModelName, VaeNetwork } from '../domain.js';
/** The models the registry builds: the vocabulary's list (`SPECS` below must have each). */
export const MODEL_NAMES = MODELS;

/**
 * Adam's settings from each model's reference. (The batch size and the
 * learning-rate defaults a run uses come from the config table, `src/run/config-schema.ts`.)
 */
export interface TrainingDefaults {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

interface SpecBase<N extends NetworkName> {
  name: ModelName;
  /** The networks, in the order their seeds are derived. */
  networks: readonly N[];
  /** One image, channels last. */
  imageShape: readonly [28, 28, 1];
  defaults: TrainingDefaults;
  /**
   * One network with weights drawn from `seed`; equal to `build(seed)[network]`,
   * so an actor builds only the network it holds.
   */
  buildNetwork(network: N, seed: number): tf.Sequential;
  /** Every network, each with its seeded weights. */
  build(seed: number): Record<N, tf.Sequential>;
}

/** A GAN: generator noise [B, noiseDim] → images in [-1, 1]; discriminator images → logits [B, 1]. */
export interface GanSpec extends SpecBase<GanNetwork> {
  kind: 'gan';
  noiseDim: number;
  range: 'tanh';
  /** The discriminator's target for real images: 1, or below 1 for one-sided label smoothing. */
  realLabel: number;
  /** The R1 penalty on D's gradient at real images (r1.ts); absent: none. */
  r1?: R1Penalty;
}

/** A VAE: encoder images in [0, 1] → [mu | logvar] [B, 2·latentDim]; decoder z → logits [B, 28, 28, 1]. */
export interface VaeSpec extends SpecBase<VaeNetwork> {
  kind: 'vae';
  latentDim: number;
  range: 'unit';
}

export type ModelSpec = GanSpec | VaeSpec;

const IMAGE = [28, 28, 1] as const;

/** The TF DCGAN tutorial's settings: Adam β1 0.5 as in Radford et al.; Keras's ε. */
const GAN_ADAM = { lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };
/** dcgan-small's learning rate: 8× the tutorial's, at half its batch (measured, README). */
export const DCGAN_SMALL_LR = 1.6e-3;
/** dcgan-small's Adam moment decays: β1 0, β2 0.99 (measured, README). */
export const DCGAN_SMALL_BETA1 = 0;
const DCGAN_SMALL_BETA2 = 0.99;
/** dcgan-small's moving average of the generator's weights: its decay (measured, README). */
export const DCGAN_SMALL_EMA = 0.999;
/** dcgan-small's R1 penalty: γ 0.2, applied every 4th step with γ·4 (measured, README). */
const DCGAN_SMALL_R1 = { gamma: 0.2, every: 4 } as const;
/** dcgan-small's batch size. */
export const DCGAN_SMALL_BATCH = 32;
/** The PyTorch examples VAE: Adam 1e-3 with PyTorch's defaults, batch 128. */
const VAE_DEFAULTS: TrainingDefaults = { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/**
 * The Rng for network number `index`: the index-th fork of the run seed, so a
 * network's weights depend on the seed and its place, not on what else was built.
 */
function networkRng(seed: number, index: number): Rng {
  const root = new Rng(seed);
  let rng = root.fork();
  for (let i = 0; i < index; i++) rng = root.fork();
  return rng;
}

function makeSpec<N extends NetworkName>(
  networks: readonly N[],
  builders: Record<N, () => tf.Sequential>,
): Pick<SpecBase<N>, 'networks' | 'build' | 'buildNetwork'> {
  const buildNetwork = (network: N, seed: number) => {
    const index = networks.indexOf(network);
    if (index < 0) throw errors.invalidValue('network', `one of ${networks.map((n) => `'${n}'`).join(', ')}`, network);
    const model = builders[network]();
    initializeWeights(model, networkRng(seed, index));
    return model;
  };
  const build = (seed: number) =>
    Object.fromEntries(networks.map((n) => [n, buildNetwork(n, seed)])) as Record<N, tf.Sequential>;
  return { networks, build, buildNetwork };
}

/** What a DCGAN of the tutorial's shape may change: its latent size, real label and Adam settings (the tutorial's by default). */
export interface GanOptions {
  readonly noiseDim?: number;
  readonly realLabel?: number;
  readonly r1?: R1Penalty;
  readonly defaults?: TrainingDefaults;
}

/** A DCGAN of the tutorial's shape with these widths and options (the registry's GANs, and experiments). */
export function customGan(name: GanModelName, widths: DcganWidths, options: GanOptions = {}): GanSpec {
  const { noiseDim = 100, realLabel = 1, r1, defaults = GAN_ADAM } = options;
  return {
    name,
    kind: 'gan',
    noiseDim,
    range: 'tanh',
    realLabel,
    ...(r1 && r1.gamma > 0 ? { r1 } : {}),
    imageShape: IMAGE,
    defaults,
    ...makeSpec<GanNetwork>(['generator', 'discriminator'], {
      generator: () => dcganGenerator(widths, noiseDim),
      discriminator: () => dcganDiscriminator(widths),
    }),
  };
}

function vae(
  name: ModelName,
  latentDim: number,
  encoder: (latent: number) => tf.Sequential,
  decoder: (latent: number) => tf.Sequential,
): VaeSpec {
  return {
    name,
    kind: 'vae',
    latentDim,
    range: 'unit',
    imageShape: IMAGE,
    defaults: VAE_DEFAULTS,
    ...makeSpec<VaeNetwork>(['encoder', 'decoder'], {
      encoder: () => encoder(latentDim),
      decoder: () => decoder(latentDim),
    }),
  };
}

const SPECS: Record<ModelName, () => ModelSpec> = {
  // The tutorial: generator 2,330,944 parameters, discriminator 212,865.
  dcgan: () => customGan('dcgan', { dense: 256, deconv: [128, 64], conv: [64, 128] }),
  // A quarter of the widths: ~16× fewer FLOPs in the deconvolutions. Trained for quality per minute
  // (README, "dcgan-small's training settings, measured"): no dropout in D, batch 32 (the config's
  // default) with Adam 1.6e-3, β1 0 and β2 0.99, one-sided label smoothing (real label 0.9), and a
  // moving average of G's weights (the config's `ema`, 0.999) to sample from.
  'dcgan-small': () =>
    customGan('dcgan-small', { dense: 64, deconv: [32, 16], conv: [16, 32], dropout: 0 }, {
      realLabel: 0.9,
      r1: DCGAN_SMALL_R1,
      defaults: { ...GAN_ADAM, lr: DCGAN_SMALL_LR, beta1: DCGAN_SMALL_BETA1, beta2: DCGAN_SMALL_BETA2 },
    }),
  'vae-mlp': () => vae('vae-mlp', 20, (l) => mlpEncoder(l), (l) => mlpDecoder(l)),
  'vae-conv': () => vae('vae-conv', 16, convEncoder, convDecoder),
};

/** The spec of model `name`; an unknown name is a usage error. */
export function modelSpec(name: GanModelName): GanSpec;
export function modelSpec(name: VaeModelName): VaeSpec;
export function modelSpec(name: string): ModelSpec;
export function modelSpec(name: string): ModelSpec {
  if (!(MODEL_NAMES as readonly string[]).includes(name)) {
    throw errors.invalidValue('model', `one of ${MODEL_NAMES.map((n) => `'${n}'`).join(', ')}`, name);
  }
  return SPECS[name as ModelName]();
}

/**
 * A run's optimizer settings for `network`: its Adam learning rate and β1, and,
 * for a generator, the moving average of its weights (`ema`, 0 or absent: none).
 */
export function runOptimizer(
  network: NetworkName,
  options: { readonly lr: number; readonly beta1: number; readonly ema?: number },
): Partial<AdamConfig> {
  const { lr, beta1, ema } = options;
  return { lr, beta1, ...(network === 'generator' && ema ? { average: ema } : {}) };
}

/** Adam settings: the spec's defaults, overridden field by field. */
export function adamConfig(spec: ModelSpec, overrides: Partial<AdamConfig> = {}): AdamConfig {
  const { lr, beta1, beta2, epsilon } = spec.defaults;
  return { lr, beta1, beta2, epsilon, ...stripUndefined(overrides) };
}

/** One network of `spec` as a part with seeded weights and its Adam optimizer. */
export function createPart(
  spec: ModelSpec,
  network: NetworkName,
  seed: number,
  optimizer: Partial<AdamConfig> = {},
): NetworkPart {
  const model = (spec.buildNetwork as (n: NetworkName, s: number) => tf.Sequential)(network, seed);
  return new NetworkPart(network, model, adamConfig(spec, optimizer));
}

/** Every network of `spec` as parts (for one worker holding them all, and for tests). */
export function createParts(spec: GanSpec, seed: number, optimizer?: Partial<AdamConfig>): Record<GanNetwork, NetworkPart>;
export function createParts(spec: VaeSpec, seed: number, optimizer?: Partial<AdamConfig>): Record<VaeNetwork, NetworkPart>;
export function createParts(
  spec: ModelSpec,
  seed: number,
  optimizer?: Partial<AdamConfig>,
): Partial<Record<NetworkName, NetworkPart>>;
export function createParts(
  spec: ModelSpec,
  seed: number,
  optimizer: Partial<AdamConfig> = {},
): Partial<Record<NetworkName, NetworkPart>> {
  const networks: readonly NetworkName[] = spec.networks;
  return Object.fromEntries(networks.map((n) => [n, createPart(spec, n, seed, optimizer)]));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
