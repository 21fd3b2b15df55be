/**
 * The small dense linear algebra FID needs: means, covariances and the
 * eigenvalues of symmetric matrices (cyclic Jacobi), in float64.
 */

/** Column means of `rows × dims` features (row-major). */
export function mean(features: Float32Array | Float64Array, rows: number, dims: number): Float64Array {
  const mu = new Float64Array(dims);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dims; d++) mu[d]! += features[r * dims + d]!;
  for (let d = 0; d < dims; d++) mu[d]! /= rows;
  return mu;
}

/** Unbiased covariance (divides by rows − 1, as numpy's `np.cov`), dims × dims row-major. */
export function covariance(features: Float32Array | Float64Array, rows: number, dims: number, mu = mean(features, rows, dims)): Float64Array {
  const cov = new Float64Array(dims * dims);
  const centred = new Float64Array(dims);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dims; d++) centred[d] = features[r * dims + d]! - mu[d]!;
    for (let i = 0; i < dims; i++) {
      const ci = centred[i]!;
      if (ci === 0) continue;
      const row = i * dims;
      for (let j = i; j < dims; j++) cov[row + j]! += ci * centred[j]!;
    }
  }
  const scale = 1 / Math.max(1, rows - 1);
  for (let i = 0; i < dims; i++) {
    for (let j = i; j < dims; j++) {
      const v = cov[i * dims + j]! * scale;
      cov[i * dims + j] = v;
      cov[j * dims + i] = v;
    }
  }
  return cov;
}

/**
 * Eigen-decomposition of a symmetric n × n matrix by cyclic Jacobi rotations.
 * Returns eigenvalues and the eigenvectors as the columns of `vectors`.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-22 * Math.max(1, frobenius(a))) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

function frobenius(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return s;
}

/** The symmetric PSD square root V·diag(√λ)·Vᵀ (negative eigenvalues from rounding clamp to 0). */
export function sqrtPsd(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const root = Math.sqrt(Math.max(0, values[k]!));
    if (root === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k]! * root;
      for (let j = 0; j < n; j++) out[i * n + j]! += vik * vectors[j * n + k]!;
    }
  }
  return out;
}

/** a · b for n × n row-major matrices. */
export function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += aik * b[k * n + j]!;
    }
  }
  return out;
}

/**
 * The Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2):
 * |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1 Σ2)^½).
 * tr((Σ1 Σ2)^½) = tr((Σ1^½ Σ2 Σ1^½)^½), whose argument is symmetric PSD, so
 * it is the sum of the square roots of its eigenvalues.
 */
export function frechetDistance(mu1: Float64Array, s1: Float64Array, mu2: Float64Array, s2: Float64Array, n: number): number {
  let meanTerm = 0;
  for (let i = 0; i < n; i++) meanTerm += (mu1[i]! - mu2[i]!) ** 2;
  let trace = 0;
  for (let i = 0; i < n; i++) trace += s1[i * n + i]! + s2[i * n + i]!;
  const root1 = sqrtPsd(s1, n);
  const m = matmul(matmul(root1, s2, n), root1, n);
  // Symmetrise against rounding before the eigen-solve.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const avg = (m[i * n + j]! + m[j * n + i]!) / 2;
      m[i * n + j] = avg;
      m[j * n + i] = avg;
    }
  }
  const { values } = symmetricEigen(m, n);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(0, v));
  return Math.max(0, meanTerm + trace - 2 * traceRoot);
}
