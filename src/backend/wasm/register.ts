/**
 * The one list of paragen's wasm training kernels, and their registration.
 * See each file for why the kernel exists; `bench/kernels.ts` measures them.
 */
import * as tf from '@tensorflow/tfjs';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { fusedConv2DConfig } from './fused-conv2d.js';
import { identityConfig } from './identity.js';
import { captureOriginal } from './internals.js';
import { tileConfig } from './tile.js';

export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  batchMatMulConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  fusedConv2DConfig,
  identityConfig,
  tileConfig,
];

/** Original wasm kernels that ours call into. */
const buildingBlocks = ['BatchMatMul', 'Conv2D', 'Transpose', 'Reshape', 'Slice'];

let registered = false;

/**
 * Registers paragen's kernels for the `wasm` backend, replacing tfjs's slow
 * ones. Idempotent. Importing `@tensorflow/tfjs-backend-wasm` must come first,
 * so that the originals exist to build on.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const name of buildingBlocks) captureOriginal(name);
  for (const config of wasmTrainingKernels) {
    // Keep tfjs's own version (where there is one) for benchmarks and fallbacks.
    if (tf.getKernel(config.kernelName, 'wasm')) captureOriginal(config.kernelName);
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  registered = true;
}
