export { useBackend, probeBackends, backendChoices, fixes, activeBackend } from './select.js';
export type { BackendChoice, BackendName, BackendInfo, Availability } from './select.js';
export { registerWasmTrainingKernels, wasmTrainingKernels } from './wasm/index.js';
export { gpuEnvironment, usableGpuCount, visibleCudaDevices } from './cuda.js';
