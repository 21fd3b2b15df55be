/**
 * Seeded weight initialisation. tfjs draws initial weights from its own
 * unseeded generator, so two builds of one model differ. paragen builds the
 * model as usual, then overwrites every weight with values drawn from an
 * `Rng`, following the initializer each layer declares in its config (so the
 * saved `model.json` still tells the truth about how the weights began).
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import type { Rng } from '../rng.js';

interface InitializerConfig {
  className: string;
  config: Record<string, unknown>;
}

/** tfjs's `computeFans` for channels-last kernels (Dense [in, out]; Conv [kh, kw, in, out]). */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  if (shape.length >= 3 && shape.length <= 5) {
    const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    return { fanIn: shape[shape.length - 2]! * receptive, fanOut: shape[shape.length - 1]! * receptive };
  }
  const size = Math.sqrt(shape.reduce((a, b) => a * b, 1));
  return { fanIn: size, fanOut: size };
}

function num(config: Record<string, unknown>, key: string, fallback: number): number {
  const value = config[key];
  return typeof value === 'number' ? value : fallback;
}

/** A normal truncated at two standard deviations, as tfjs's `truncatedNormal`. */
function truncatedNormal(rng: Rng, mean: number, stddev: number): number {
  for (;;) {
    const x = rng.normal();
    if (Math.abs(x) <= 2) return mean + stddev * x;
  }
}

/** Draws `size` initial values for a weight of `shape` from `rng`, as the initializer would. */
export function drawInitial(init: InitializerConfig, shape: readonly number[], rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  const c = init.config ?? {};
  switch (init.className) {
    case 'Zeros':
      return out;
    case 'Ones':
      return out.fill(1);
    case 'Constant':
      return out.fill(num(c, 'value', 0));
    case 'RandomUniform': {
      const lo = num(c, 'minval', -0.05);
      const hi = num(c, 'maxval', 0.05);
      for (let i = 0; i < size; i++) out[i] = lo + (hi - lo) * rng.next();
      return out;
    }
    case 'RandomNormal': {
      const mean = num(c, 'mean', 0);
      const stddev = num(c, 'stddev', 0.05);
      for (let i = 0; i < size; i++) out[i] = mean + stddev * rng.normal();
      return out;
    }
    case 'VarianceScaling': {
      // Glorot/He/LeCun are all VarianceScaling in tfjs's serialised form.
      const { fanIn, fanOut } = computeFans(shape);
      const mode = c['mode'] ?? 'fanIn';
      const n = mode === 'fanIn' ? fanIn : mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
      const scale = num(c, 'scale', 1) / Math.max(1, n);
      if (c['distribution'] === 'uniform') {
        const limit = Math.sqrt(3 * scale);
        for (let i = 0; i < size; i++) out[i] = (2 * rng.next() - 1) * limit;
      } else {
        const stddev = Math.sqrt(scale);
        for (let i = 0; i < size; i++) out[i] = truncatedNormal(rng, 0, stddev);
      }
      return out;
    }
    default:
      throw errors.internal(`seeded initialisation does not support the ${init.className} initializer`);
  }
}

/** `moving_variance` → `movingVarianceInitializer`: the config key holding a weight's initializer. */
function initializerKey(weightName: string): string {
  const short = weightName.slice(weightName.lastIndexOf('/') + 1);
  return `${short.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase())}Initializer`;
}

/**
 * Overwrites every weight of `model` (trainable or not), layer by layer in
 * order, with values drawn from `rng`. Two calls with generators in the same
 * state give identical weights.
 */
export function initializeWeights(model: tf.LayersModel, rng: Rng): void {
  for (const layer of model.layers) {
    const config = layer.getConfig() as Record<string, unknown>;
    for (const weight of layer.weights) {
      const init = config[initializerKey(weight.originalName)] as InitializerConfig | undefined;
      if (!init || typeof init.className !== 'string') {
        throw errors.internal(`no initializer found for weight ${weight.originalName} of layer ${layer.name}`);
      }
      const values = drawInitial(init, weight.shape as number[], rng);
      tf.tidy(() => {
        weight.write(tf.tensor(values, weight.shape as number[]));
      });
    }
  }
}
