/**
 * `Identity` for the wasm backend: the output shares the input's buffer, as
 * the cpu backend's `Identity` and wasm's own `Reshape` do, instead of
 * copying it. tfjs clones every tensor a kernel saves for its gradient
 * (`saveTensorsForBackwardMode` → `clone` → `Identity`), so on a tape tfjs's
 * wasm kernel copied every saved activation on every training step. Tensors
 * are immutable and the backend counts references per buffer, so a shared
 * buffer is freed when its last tensor is. (It also stops tfjs-core's
 * test-mode leak check from counting a custom gradient's saved clones as
 * leaks: the fused conv2d gradient specs.)
 */
import * as tf from '@tensorflow/tfjs';
import { original, type WasmBackend } from './internals.js';

type TensorInfo = tf.TensorInfo;

function identity(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs as { x: TensorInfo };
  // Strings live outside the heap; tfjs's kernel handles them.
  if (x.dtype === 'string') return original('Identity', backend)(args) as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
