/**
 * paragen's wasm training kernels against tfjs's cpu backend: forward results
 * and gradients over many shapes, relative error ≤ 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { data, onBoth, relativeError } from './helpers.js';

const TOLERANCE = 1e-4;

beforeAll(async () => {
  await useBackend('wasm');
});

async function expectClose(f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const { cpu, wasm } = await onBoth(f);
  expect(wasm.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    expect(wasm[i]!.length).toBe(cpu[i]!.length);
    expect(relativeError(cpu[i]!, wasm[i]!)).toBeLessThanOrEqual(TOLERANCE);
  }
}

describe('BatchMatMul', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['plain', [5, 7], [7, 3], false, false],
    ['transposeA', [7, 5], [7, 3], true, false],
    ['transposeB', [5, 7], [3, 7], false, true],
    ['both', [7, 5], [3, 7], true, true],
    ['dense backprop dW', [128, 784], [128, 40], true, false],
    ['dense backprop dx', [128, 40], [784, 40], false, true],
    ['column vector', [9, 6], [9, 1], true, false],
    ['row vector', [1, 6], [4, 6], false, true],
    ['batched', [3, 5, 7], [3, 4, 7], false, true],
    ['batched transposeA', [2, 7, 5], [2, 7, 3], true, false],
    ['broadcast batch', [4, 5, 7], [7, 3], false, false],
    ['broadcast batch transposed', [1, 7, 5], [3, 3, 7], true, true],
  ];
  for (const [name, aShape, bShape, ta, tb] of cases) {
    it(`${name}: ${aShape} · ${bShape}${ta ? ' ᵀA' : ''}${tb ? ' ᵀB' : ''}`, async () => {
      const a = data(aShape, 1);
      const b = data(bShape, 2);
      await expectClose(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb));
    });
  }

  it('gradients of a batched product with transposes', async () => {
    const a = data([2, 6, 4], 3);
    const b = data([2, 5, 6], 4);
    await expectClose(() => {
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, true, true).square().sum());
      return g([tf.tensor(a, [2, 6, 4]), tf.tensor(b, [2, 5, 6])]);
    });
  });

  it('rejects mismatched inner dimensions with tfjs’s message', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 5]))).toThrow(/inner shapes \(3\) and \(4\)/);
  });
});

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  s: [number, number];
  pad: Pad;
}

const convCases: ConvCase[] = [];
for (const s of [1, 2, 3]) {
  for (const pad of ['same', 'valid'] as const) {
    convCases.push({ n: 2, h: 11, w: 9, ci: 3, co: 4, k: [3, 3], s: [s, s], pad });
    convCases.push({ n: 1, h: 8, w: 7, ci: 1, co: 5, k: [5, 4], s: [s, s], pad });
    convCases.push({ n: 2, h: 7, w: 7, ci: 12, co: 3, k: [2, 2], s: [s, s], pad });
    convCases.push({ n: 1, h: 9, w: 10, ci: 17, co: 1, k: [4, 5], s: [s, s], pad });
  }
}
convCases.push({ n: 2, h: 14, w: 14, ci: 16, co: 8, k: [5, 5], s: [2, 2], pad: 'same' }); // DCGAN-like
convCases.push({ n: 2, h: 28, w: 28, ci: 1, co: 8, k: [5, 5], s: [2, 2], pad: 'same' }); // first layer
convCases.push({ n: 1, h: 9, w: 8, ci: 10, co: 3, k: [3, 2], s: [2, 3], pad: 'same' }); // unequal strides
convCases.push({ n: 1, h: 10, w: 9, ci: 9, co: 2, k: [3, 3], s: [1, 1], pad: 'valid' });
convCases.push({ n: 2, h: 6, w: 6, ci: 2, co: 3, k: [1, 1], s: [2, 2], pad: 'same' }); // kernel < stride
convCases.push({ n: 1, h: 8, w: 8, ci: 9, co: 2, k: [3, 3], s: [2, 2], pad: [[0, 0], [2, 1], [0, 3], [0, 0]] });
convCases.push({ n: 1, h: 7, w: 7, ci: 2, co: 2, k: [3, 3], s: [1, 1], pad: [[0, 0], [4, 0], [0, 2], [0, 0]] });

function label(c: ConvCase): string {
  const pad = typeof c.pad === 'string' ? c.pad : `explicit ${JSON.stringify(c.pad.slice(1, 3))}`;
  return `n${c.n} ${c.h}×${c.w}×${c.ci}→${c.co} k${c.k.join('×')} s${c.s.join('×')} ${pad}`;
}

describe('conv2d gradients (Conv2DBackpropFilter, Conv2DBackpropInput)', () => {
  for (const c of convCases) {
    it(label(c), async () => {
      const xShape = [c.n, c.h, c.w, c.ci];
      const wShape = [...c.k, c.ci, c.co];
      const xs = data(xShape, 5);
      const ws = data(wShape, 6);
      await expectClose(() => {
        const x = tf.tensor4d(xs, xShape as [number, number, number, number]);
        const w = tf.tensor4d(ws, wShape as [number, number, number, number]);
        const y = tf.conv2d(x, w, c.s, c.pad);
        const dy = tf.tensor(data(y.shape, 7), y.shape);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad).mul(dy).sum(),
        )([x, w]);
        return [y, dx!, dw!];
      });
    });
  }
});

describe('conv2dTranspose forward and gradients', () => {
  for (const c of convCases.filter((c) => typeof c.pad === 'string')) {
    it(label(c), async () => {
      // conv2dTranspose maps the conv's output shape back to its input shape.
      const wShape = [...c.k, c.ci, c.co] as [number, number, number, number];
      const ws = data(wShape, 8);
      const pad = c.pad as 'same' | 'valid';
      const outShape = [c.n, c.h, c.w, c.ci] as [number, number, number, number];
      const yShape = tf.tidy(() => tf.conv2d(tf.zeros(outShape) as tf.Tensor4D, tf.zeros(wShape) as tf.Tensor4D, c.s, pad).shape);
      const ys = data(yShape, 9);
      await expectClose(() => {
        const y = tf.tensor4d(ys, yShape as [number, number, number, number]);
        const w = tf.tensor4d(ws, wShape);
        const out = tf.conv2dTranspose(y, w, outShape, c.s, pad);
        const up = tf.tensor(data(out.shape, 10), out.shape);
        const [dy, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, c.s, pad).mul(up).sum(),
        )([y, w]);
        return [out, dy!, dw!];
      });
    });
  }
});

describe('Tile', () => {
  const cases: [number[], number[]][] = [
    [[1, 1, 1, 5], [3, 4, 2, 1]], // batch norm's gradient
    [[2, 3], [3, 2]],
    [[4], [5]],
    [[2, 1, 3], [1, 4, 1]],
    [[3, 2, 2], [2, 1, 3]],
    [[2, 2], [1, 1]],
  ];
  for (const [shape, reps] of cases) {
    it(`${shape} × ${reps}`, async () => {
      const x = data(shape, 13);
      await expectClose(() => tf.tile(tf.tensor(x, shape), reps));
    });
  }
  it('tiles int32 and bool tensors', async () => {
    await tf.setBackend('wasm');
    expect(Array.from(tf.tile(tf.tensor([1, 2], [2], 'int32'), [3]).dataSync())).toEqual([1, 2, 1, 2, 1, 2]);
    expect(Array.from(tf.tile(tf.tensor([true, false], [1, 2], 'bool'), [2, 1]).dataSync())).toEqual([1, 0, 1, 0]);
  });
});

describe('memory', () => {
  it('kernels leave no tensors or heap allocations behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(data([2, 14, 14, 8], 11), [2, 14, 14, 8]);
    const w = tf.tensor4d(data([5, 5, 8, 4], 12), [5, 5, 8, 4]);
    const step = () =>
      tf.tidy(() => {
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
          const back = tf.conv2dTranspose(y, b as tf.Tensor4D, [2, 14, 14, 8], 2, 'same');
          return tf.matMul(back.reshape([28, 112]), back.reshape([28, 112]), true, false).sum();
        })([x, w]);
        return dx!.sum().add(dw!.sum());
      }).dispose();
    step();
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([x, w]);
  });
});
