/**
 * `Tile` for the wasm backend. tfjs's wasm kernel visits the output element by
 * element through index arithmetic; batch norm's gradient tiles the per-channel
 * statistics to the full activation shape on every step ([1,1,1,C] → [N,H,W,C]),
 * and profiling a DCGAN step showed those three tiles costing more than all of
 * its matMuls. Here the input is placed once, then each dimension, innermost
 * first, is replicated by doubling `copyWithin` (a memmove) — a handful of
 * block copies instead of an index computation per element.
 */
import * as tf from '@tensorflow/tfjs';
import { original, size, type WasmBackend } from './internals.js';

type TensorInfo = tf.TensorInfo;

/** Copies `[start, start + len)` so that it repeats `times` times in total, by doubling. */
function repeat(a: { copyWithin(target: number, start: number, end: number): unknown }, start: number, len: number, times: number): void {
  let filled = 1;
  while (filled < times) {
    const n = Math.min(filled, times - filled);
    a.copyWithin(start + filled * len, start, start + n * len);
    filled += n;
  }
}

function tile(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs as { x: TensorInfo };
  const reps = (args.attrs?.['reps'] ?? []) as number[];
  if (x.dtype === 'string' || x.shape.length === 0 || reps.length !== x.shape.length) {
    const out = original('Tile', backend)(args);
    return out as TensorInfo;
  }
  const rank = x.shape.length;
  const inShape = x.shape;
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (size(outShape) === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);

  // Output strides, and the number of "rows" of the input (all dims but the last).
  const outStride = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) outStride[d] = outStride[d + 1]! * outShape[d + 1]!;
  const last = inShape[rank - 1]!;

  // 1. Place each input row where the tile index of every dimension is zero.
  const rows = size(inShape) / last;
  const index = new Array<number>(rank).fill(0);
  for (let row = 0; row < rows; row++) {
    let offset = 0;
    for (let d = 0; d < rank - 1; d++) offset += index[d]! * outStride[d]!;
    dst.set(src.subarray(row * last, row * last + last), offset);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < inShape[d]!) break;
      index[d] = 0;
    }
  }

  // 2. Innermost dimension first: within every block whose outer indices are
  //    all in the input's range, repeat the filled part reps[d] times.
  for (let d = rank - 1; d >= 0; d--) {
    if (reps[d] === 1) continue;
    const filled = inShape[d]! * outStride[d]!;
    const blocks = size(inShape.slice(0, d));
    const outer = new Array<number>(d).fill(0);
    for (let b = 0; b < blocks; b++) {
      let base = 0;
      for (let j = 0; j < d; j++) base += outer[j]! * outStride[j]!;
      repeat(dst, base, filled, reps[d]!);
      for (let j = d - 1; j >= 0; j--) {
        if (++outer[j]! < inShape[j]!) break;
        outer[j] = 0;
      }
    }
  }
  return out;
}

export const tileConfig: tf.KernelConfig = {
  kernelName: tf.Tile,
  backendName: 'wasm',
  kernelFunc: tile as unknown as tf.KernelFunc,
};
