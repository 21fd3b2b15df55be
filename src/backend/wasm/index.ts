export { registerWasmTrainingKernels, wasmTrainingKernels } from './register.js';
export { captureOriginal } from './internals.js';
