/**
 * What to do when a backend cannot be used, one line each. Apart from the
 * selection (select.ts) so that config validation can name them without
 * loading TensorFlow.js.
 */
export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
export const NATIVE_PACKAGE = '@tensorflow/tfjs-node';

export const fixes = {
  gpu: `backend gpu needs ${GPU_PACKAGE} (CUDA 11.2, cuDNN 8.1): npm i ${GPU_PACKAGE}`,
  native: `backend native needs ${NATIVE_PACKAGE}: npm i ${NATIVE_PACKAGE}`,
  thread: (name: string) =>
    `backend ${name} cannot load in a worker thread (tensorflow/tfjs#8388): run it in a process host (--host process)`,
} as const;
