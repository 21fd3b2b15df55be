/**
 * The environment tfjs-core's op specs run in, as tfjs-backend-wasm's own
 * `src/setup_test.ts` sets it up upstream: chained ops and gradients
 * registered, one test environment on the `wasm` backend. With
 * `PARAGEN_KERNELS=1`, paragen's training kernels replace tfjs's first.
 * Part of the bundle that `suites.ts` builds; not run by vitest.
 */
import './boot.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { setTestEnvs } from '@tensorflow/tfjs-core/dist/jasmine_util.js';
import { registerWasmTrainingKernels } from '../../src/backend/wasm/register.js';

// The bundle lives away from the backend's files; point it at its .wasm binaries.
const wasmDir = process.env['TFJS_WASM_DIR'];
if (!wasmDir) throw new Error('TFJS_WASM_DIR must name the folder of tfjs-backend-wasm’s .wasm files');
setWasmPaths(wasmDir.endsWith('/') ? wasmDir : `${wasmDir}/`);

if (process.env['PARAGEN_KERNELS'] === '1') registerWasmTrainingKernels();

setTestEnvs([{ name: 'wasm', backendName: 'wasm', isDataSync: true }]);
