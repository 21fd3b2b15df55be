/**
 * `BatchMatMul` for the wasm backend, fast with transposed operands.
 *
 * tfjs's wasm kernel sends every product with `transposeA`, `transposeB` or a
 * batch dimension above 1 to a scalar C++ loop (`slow_batch_matmul`, about a
 * tenth of the XNNPACK speed); only a plain 2-D product reaches XNNPACK. Dense
 * layers' backward passes are exactly the transposed products (dW = xᵀ·dy,
 * dx = dy·Wᵀ), so training spent most of its time there.
 *
 * Here every product is brought to the plain form with one explicit transpose,
 * choosing the cheaper of two equivalent rewrites:
 *   (1) C  = A'·B'         with A' = op(A), B' = op(B) materialised, or
 *   (2) Cᵀ = B''·A''       with B'' = op(B)ᵀ, A'' = op(A)ᵀ, then C = (Cᵀ)ᵀ,
 * where materialising op(X) costs nothing when op is the identity. XNNPACK
 * also repacks its right operand on every call (it is a fresh tensor each
 * step), so that operand's size is part of the cost.
 * Batched products run one XNNPACK product per batch entry.
 */
import * as tf from '@tensorflow/tfjs';
import { dispose, heapF32, reshape, run, size, transpose, type WasmBackend } from './internals.js';

type TensorInfo = tf.TensorInfo;

interface Operand {
  info: TensorInfo; // rank 3: [batch, rows, cols] as stored
  transposed: boolean;
}

/** A plain [1, M, K]·[1, K, N] product on the XNNPACK path. */
function plain(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  return run(backend, 'BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
}

/** A row or column vector: transposing it is a reshape, no data moves. */
function isVector(x: TensorInfo): boolean {
  return x.shape[1] === 1 || x.shape[2] === 1;
}

/** Materialises `op(x)` for a single-batch rank-3 operand; returns `x` itself when op is the identity. */
function materialise(backend: WasmBackend, x: Operand, wantTransposed: boolean): { info: TensorInfo; owned: boolean } {
  if (x.transposed === wantTransposed) return { info: x.info, owned: false };
  const [, rows, cols] = x.info.shape as [number, number, number];
  if (isVector(x.info)) return { info: reshape(backend, x.info, [1, cols, rows]), owned: true };
  return { info: transpose(backend, x.info, [0, 2, 1]), owned: true };
}

/** The result of a product computed transposed, transposed back. */
function untranspose(backend: WasmBackend, ct: TensorInfo): TensorInfo {
  const [, rows, cols] = ct.shape as [number, number, number];
  if (isVector(ct)) return reshape(backend, ct, [1, cols, rows]);
  return transpose(backend, ct, [0, 2, 1]);
}

/** One product op(A)·op(B) for single-batch rank-3 operands. */
function product(backend: WasmBackend, a: Operand, b: Operand): TensorInfo {
  if (!a.transposed && !b.transposed) return plain(backend, a.info, b.info);
  const [, aRows, aCols] = a.info.shape as [number, number, number];
  const [, bRows, bCols] = b.info.shape as [number, number, number];
  // Moving a vector costs nothing (it is a reshape).
  const sizeA = isVector(a.info) ? 0 : aRows * aCols;
  const sizeB = isVector(b.info) ? 0 : bRows * bCols;
  const m = a.transposed ? aCols : aRows;
  const n = b.transposed ? bRows : bCols;
  const sizeC = m === 1 || n === 1 ? 0 : m * n;
  // (1): copy each transposed operand, XNNPACK packs B.
  const cost1 = (a.transposed ? sizeA : 0) + (b.transposed ? sizeB : 0) + bRows * bCols;
  // (2): copy each non-transposed operand, XNNPACK packs A, transpose the result.
  const cost2 = (a.transposed ? 0 : sizeA) + (b.transposed ? 0 : sizeB) + aRows * aCols + sizeC;
  if (cost1 <= cost2) {
    const a1 = materialise(backend, a, false);
    const b1 = materialise(backend, b, false);
    try {
      return plain(backend, a1.info, b1.info);
    } finally {
      if (a1.owned) dispose(backend, a1.info);
      if (b1.owned) dispose(backend, b1.info);
    }
  }
  const b2 = materialise(backend, b, true);
  const a2 = materialise(backend, a, true);
  let ct: TensorInfo | undefined;
  try {
    ct = plain(backend, b2.info, a2.info);
    return untranspose(backend, ct);
  } finally {
    dispose(backend, ct);
    if (a2.owned) dispose(backend, a2.info);
    if (b2.owned) dispose(backend, b2.info);
  }
}

/**
 * For each entry of the broadcast batch `outer`, the entry of an operand with
 * batch shape `own` that it reads: NumPy broadcasting, shapes aligned on the
 * right, a dimension of 1 (or a missing one) repeated. So A [2,2,·,·] with
 * B [2,·,·] pairs A's entry (i, j) with B's entry j, as tfjs's kernels do.
 * (tfjs's cpu and wasm kernels take entry i mod size of each operand: the
 * same wherever one batch shape ends the other, wrong for [2,1] with [5].)
 */
function broadcastIndices(own: readonly number[], outer: readonly number[]): number[] {
  const total = size(outer);
  const shift = outer.length - own.length;
  const out = new Array<number>(total);
  for (let i = 0; i < total; i++) {
    let rest = i;
    let index = 0;
    let stride = 1;
    for (let d = outer.length - 1; d >= shift; d--) {
      const coord = rest % outer[d]!;
      rest = Math.floor(rest / outer[d]!);
      const dim = own[d - shift]!;
      if (dim !== 1) index += coord * stride;
      stride *= dim;
    }
    out[i] = index;
  }
  return out;
}

function batchMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const transposeA = Boolean(args.attrs?.['transposeA']);
  const transposeB = Boolean(args.attrs?.['transposeB']);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error('BatchMatMul on wasm supports float32 tensors only');
  }
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const batchA = size(aOuter);
  const batchB = size(bOuter);
  const outOuter = tf.backend_util.assertAndGetBroadcastShape(aOuter, bOuter);
  const aRows = a.shape[aRank - 2]!;
  const aCols = a.shape[aRank - 1]!;
  const bRows = b.shape[bRank - 2]!;
  const bCols = b.shape[bRank - 1]!;
  const inner = transposeA ? aRows : aCols;
  const innerB = transposeB ? bCols : bRows;
  if (inner !== innerB) {
    throw new Error(
      `Error in matMul: inner shapes (${inner}) and (${innerB}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const m = transposeA ? aCols : aRows;
  const n = transposeB ? bRows : bCols;
  const outShape = [...outOuter, m, n];
  const batch = size(outOuter);

  if (batch === 1) {
    const a3 = reshape(backend, a, [1, aRows, aCols]);
    const b3 = reshape(backend, b, [1, bRows, bCols]);
    try {
      const out = product(backend, { info: a3, transposed: transposeA }, { info: b3, transposed: transposeB });
      const shaped = reshape(backend, out, outShape);
      dispose(backend, out);
      return shaped;
    } finally {
      dispose(backend, a3, b3);
    }
  }

  // Batched: one XNNPACK product per batch entry, written into one output.
  const out = backend.makeOutput([batch, m, n], 'float32');
  const a3 = reshape(backend, a, [batchA, aRows, aCols]);
  const b3 = reshape(backend, b, [batchB, bRows, bCols]);
  const aIndex = broadcastIndices(aOuter, outOuter);
  const bIndex = broadcastIndices(bOuter, outOuter);
  try {
    for (let i = 0; i < batch; i++) {
      const ai = batchA === 1 ? a3 : run(backend, 'Slice', { x: a3 }, { begin: [aIndex[i]!, 0, 0], size: [1, aRows, aCols] });
      const bi = batchB === 1 ? b3 : run(backend, 'Slice', { x: b3 }, { begin: [bIndex[i]!, 0, 0], size: [1, bRows, bCols] });
      let ci: TensorInfo | undefined;
      try {
        ci = product(backend, { info: ai, transposed: transposeA }, { info: bi, transposed: transposeB });
        heapF32(backend, out).set(heapF32(backend, ci), i * m * n);
      } finally {
        dispose(backend, ci);
        if (ai !== a3) dispose(backend, ai);
        if (bi !== b3) dispose(backend, bi);
      }
    }
    const shaped = reshape(backend, out, outShape);
    dispose(backend, out);
    return shaped;
  } finally {
    dispose(backend, a3, b3);
  }
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
