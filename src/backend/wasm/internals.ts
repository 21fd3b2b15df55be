/**
 * The parts of TensorFlow.js's wasm backend that paragen's kernels use.
 *
 * `BackendWasm` keeps every tensor in the wasm heap and hands kernels a
 * `TensorInfo` (shape, dtype, dataId). Our kernels are written the way the
 * backend's own kernels are: they allocate outputs with `makeOutput`, call the
 * backend's fast kernels (XNNPACK `Conv2D`, `BatchMatMul` without transposes,
 * `Transpose`) on intermediate `TensorInfo`s, read and write the heap through
 * `typedArrayFromHeap`, and free intermediates with `disposeData`.
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;

/** The subset of `BackendWasm` that paragen's kernels touch. */
export interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** A kernel function as TensorFlow.js registers it. */
export type KernelFn = (args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}) => TensorInfo | TensorInfo[];

/**
 * The backend's own kernels, captured before paragen replaces any of them,
 * so that our kernels can build on the originals (e.g. our `BatchMatMul` calls
 * the original XNNPACK path after transposing an operand).
 */
const originals = new Map<string, tf.KernelConfig>();

export function captureOriginal(kernelName: string): tf.KernelConfig {
  let config = originals.get(kernelName);
  if (!config) {
    config = tf.getKernel(kernelName, 'wasm');
    if (!config) throw new Error(`wasm backend has no kernel ${kernelName} to build on`);
    originals.set(kernelName, config);
  }
  return config;
}

/** The original kernel `name` of the wasm backend, set up for `backend`. */
export function original(name: string, backend: WasmBackend): KernelFn {
  const config = captureOriginal(name);
  ensureSetup(config, backend);
  return config.kernelFunc as unknown as KernelFn;
}

const setUp = new WeakMap<object, Set<string>>();

/**
 * Runs a kernel's `setupFunc` once per backend instance. TensorFlow.js calls
 * setup only for the kernels registered when the backend is initialised; an
 * original that we unregistered before that moment would otherwise never get
 * its wasm function bound.
 */
export function ensureSetup(config: tf.KernelConfig, backend: WasmBackend): void {
  let done = setUp.get(backend);
  if (!done) {
    done = new Set();
    setUp.set(backend, done);
  }
  if (done.has(config.kernelName)) return;
  done.add(config.kernelName);
  config.setupFunc?.(backend);
}

/** Calls an original kernel that returns a single tensor. */
export function run(
  backend: WasmBackend,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): TensorInfo {
  const out = original(name, backend)({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`kernel ${name} returned several tensors`);
  return out;
}

export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return run(backend, 'Transpose', { x }, { perm });
}

/** A view of the same data with another shape; dispose it like any output. */
export function reshape(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return run(backend, 'Reshape', { x }, { shape });
}

export function heapF32(backend: WasmBackend, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return view;
}

export function dispose(backend: WasmBackend, ...infos: (TensorInfo | undefined)[]): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
