import { describe, expect, it } from 'vitest';
import { covariance, frechetDistance, matmul, mean, sqrtPsd, symmetricEigen } from '../../src/eval/linalg.js';
import { classShares, inceptionScore, type Predictions } from '../../src/eval/metrics.js';
import { Rng } from '../../src/rng.js';

function predictions(rows: number[][]): Predictions {
  return {
    count: rows.length,
    classes: rows[0]!.length,
    probabilities: Float32Array.from(rows.flat()),
    features: new Float32Array(0),
  };
}

describe('linear algebra', () => {
  it('finds the eigenvalues of a symmetric matrix', () => {
    // [[2,1],[1,2]] has eigenvalues 1 and 3.
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect([...values].sort()).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
    // Columns are unit eigenvectors: A v = λ v.
    for (let k = 0; k < 2; k++) {
      const v = [vectors[k]!, vectors[2 + k]!];
      expect(2 * v[0]! + v[1]!).toBeCloseTo(values[k]! * v[0]!, 10);
      expect(Math.hypot(v[0]!, v[1]!)).toBeCloseTo(1, 12);
    }
  });

  it('squares its PSD square root back', () => {
    const rng = new Rng(5);
    const n = 6;
    const b = Float64Array.from({ length: n * n }, () => rng.normal());
    const bt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) bt[i * n + j] = b[j * n + i]!;
    const a = matmul(b, bt, n); // symmetric PSD
    const root = sqrtPsd(a, n);
    const back = matmul(root, root, n);
    for (let i = 0; i < n * n; i++) expect(back[i]!).toBeCloseTo(a[i]!, 8);
  });

  it('computes means and unbiased covariances like numpy', () => {
    const x = Float32Array.from([1, 2, 3, 6, 5, 10]); // rows (1,2), (3,6), (5,10)
    expect([...mean(x, 3, 2)]).toEqual([3, 6]);
    expect([...covariance(x, 3, 2)]).toEqual([4, 8, 8, 16]);
  });

  it('gives the closed-form Fréchet distance of two Gaussians', () => {
    // 1-D: (μ1 − μ2)² + σ1² + σ2² − 2σ1σ2.
    const d = frechetDistance(Float64Array.of(1), Float64Array.of(4), Float64Array.of(3), Float64Array.of(9), 1);
    expect(d).toBeCloseTo(4 + 4 + 9 - 2 * 6, 10);
    // Identical distributions: 0.
    const s = Float64Array.from([2, 0.5, 0.5, 1]);
    expect(frechetDistance(Float64Array.of(1, 2), s, Float64Array.of(1, 2), s, 2)).toBeCloseTo(0, 8);
    // Diagonal covariances: Σ (√a − √b)² plus the mean term.
    const f = frechetDistance(Float64Array.of(0, 0), Float64Array.from([4, 0, 0, 1]), Float64Array.of(1, 0), Float64Array.from([1, 0, 0, 9]), 2);
    expect(f).toBeCloseTo(1 + (2 - 1) ** 2 + (1 - 3) ** 2, 10);
  });
});

describe('inceptionScore', () => {
  it('is 1 when every sample looks the same', () => {
    expect(inceptionScore(predictions([[0.7, 0.3], [0.7, 0.3], [0.7, 0.3]]))).toBeCloseTo(1, 10);
  });

  it('is the number of classes for confident, evenly spread samples', () => {
    const rows = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, c) => (c === i ? 1 : 0)));
    expect(inceptionScore(predictions(rows))).toBeCloseTo(10, 6);
  });

  it('is 1 for a generator stuck on one class', () => {
    expect(inceptionScore(predictions([[0, 1, 0], [0, 1, 0]]))).toBeCloseTo(1, 10);
  });
});

describe('classShares', () => {
  it('counts each image in its most probable class', () => {
    const shares = classShares(predictions([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]]));
    expect(shares).toEqual([0.25, 0.5, 0.25]);
  });

  it('gives a class no generated image falls in a share of 0', () => {
    expect(classShares(predictions([[0.9, 0.1, 0], [0.2, 0.8, 0]]))).toEqual([0.5, 0.5, 0]);
  });
});
