/**
 * `sample()`: images from a trained run — a GAN's generator on noise, or a
 * VAE's decoder on draws from the prior — returned in memory and, with `out`,
 * written as a `.png` grid or a `.npy` array (N×28×28 float32 in [0, 1]).
 */
import { dirname, extname } from 'node:path';
import { useBackend, type BackendName } from '../backend/index.js';
import { encodeNpy, encodePng, imageGrid } from '../data/index.js';
import { errors } from '../errors.js';
import { sampleImages } from '../models/index.js';
import { Rng } from '../rng.js';
import { writeFileAtomic } from '../run/atomic.js';
import { fsFault, makeDirs } from '../run/fs-fault.js';
import { parseConfig } from '../run/config.js';
import type { CommandInput, SampleConfig } from '../run/config-schema.js';
import { SamplePool } from '../run/sample-pool.js';
import { imageNetwork } from '../run/trained-run.js';
import { cachedTrainedRun } from './model-cache.js';

/** What `sample()` takes: the `paragen sample` settings, `run` required. */
export type SampleInput = CommandInput<'sample'> & { readonly run: string };

export interface SampleHooks {
  /** Told of each checkpoint skipped because it failed verification. */
  readonly onWarning?: (message: string) => void;
  /** Told when a checkpoint is read from disk; a call that reuses the networks of an earlier one is not. */
  readonly onLoad?: (checkpoint: string) => void;
}

export interface SampleResult {
  /** `n` images, [n, 28, 28, 1] row-major, in [0, 1]. */
  readonly images: Float32Array;
  readonly shape: readonly [number, number, number, number];
  readonly n: number;
  readonly seed: number;
  readonly run: string;
  readonly model: string;
  /** The step of the checkpoint the images come from. */
  readonly step: number;
  readonly checkpoint: string;
  readonly backend: BackendName;
  /** The file written, when `out` was given. */
  readonly out?: string;
  readonly format?: 'png' | 'npy';
  readonly warnings: readonly string[];
}

const FORMATS = { '.png': 'png', '.npy': 'npy' } as const;

/** The output format `out` asks for; a usage error for any other extension. */
export function outputFormat(out: string): 'png' | 'npy' {
  const format = FORMATS[extname(out).toLowerCase() as keyof typeof FORMATS];
  if (!format) throw errors.invalidValue('out', 'a file name ending in .png (a grid) or .npy (an array)', out);
  return format;
}

/**
 * Draws `n` images (default 64) from the run's newest good checkpoint with
 * noise from `seed` (default 0): the same seed gives the same images, for any
 * `n` (image i depends only on the seed and i).
 *
 * With `workers` above 1, generation is split across that many worker
 * threads (whole 256-image batches each, every thread its own wasm
 * instance); the images are the same as with one.
 *
 * @example
 * const { images } = await sample({ run: 'runs/vae-mlp-20250101-120000', n: 16, seed: 1 });
 * await sample({ run: 'runs/dcgan-small-20250101-120000', n: 64, out: 'grid.png' });
 */
export async function sample(input: SampleInput, hooks: SampleHooks = {}): Promise<SampleResult> {
  const config: SampleConfig = parseConfig(input, 'api', 'sample');
  const format = config.out === undefined ? undefined : outputFormat(config.out);
  const backend = await useBackend(config.backend);
  const cached = await cachedTrainedRun(config.run, backend.name, 'image', (spec) => [imageNetwork(spec)], hooks.onWarning);
  if (cached.loaded) hooks.onLoad?.(cached.run.checkpoint);
  const trained = cached.run;
  try {
    const network = imageNetwork(trained.spec);
    const images =
      (config.workers ?? 1) > 1
        ? await generateInPool(trained.spec.name, await trained.part(network).getWeights(), config)
        : await sampleImages(trained.spec, trained.part(network), config.n, new Rng(config.seed));
    const [h, w, c] = trained.spec.imageShape;
    if (config.out !== undefined && format !== undefined) {
      const bytes =
        format === 'png' ? encodePng(imageGrid(images, config.n, h, w, c)) : encodeNpy(images, [config.n, h, w]);
      await writeOut(config.out, bytes);
    }
    return {
      images,
      shape: [config.n, h, w, c],
      n: config.n,
      seed: config.seed,
      run: config.run,
      model: trained.spec.name,
      step: trained.step,
      checkpoint: trained.checkpoint,
      backend: backend.name,
      ...(config.out === undefined ? {} : { out: config.out, format }),
      warnings: trained.warnings,
    };
  } finally {
    // The networks stay cached for the next call (model-cache.ts).
    cached.done();
  }
}

/** `config.n` images on `config.workers` threads. */
async function generateInPool(model: string, weights: Float32Array[], config: SampleConfig): Promise<Float32Array> {
  const pool = new SamplePool(config.workers ?? 1);
  try {
    return await pool.generate({ model, weights, backend: config.backend }, config.n, config.seed);
  } finally {
    await pool.close();
  }
}

/** Writes atomically, creating the folder; a path that cannot be written is a one-line usage error. */
async function writeOut(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await makeDirs(dirname(path));
    await writeFileAtomic(path, bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why: Record<string, string> = {
      EACCES: 'permission denied',
      EISDIR: 'it is a directory',
      ENOTDIR: 'a parent is not a directory',
      EEXIST: 'a parent is not a directory',
      EROFS: 'read-only file system',
      ENOSPC: 'no space left on the device',
    };
    if (code && why[code]) throw errors.badFile(path, `cannot write: ${why[code]}`);
    throw fsFault(error, { path, action: 'write the samples' }) ?? error;
  }
}
