/**
 * Backend selection: `useBackend('auto' | 'gpu' | 'webgpu' | 'native' | 'wasm' | 'cpu')`.
 *
 * `auto` tries gpu → webgpu (a real adapter only) → native → wasm → cpu and says why each earlier one was
 * passed over. An explicit choice that cannot be honoured is an error naming
 * the fix — never a silent fallback. The native packages are optional peer
 * dependencies, imported only when asked for.
 */
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS as backendChoices, type BackendChoice, type BackendName } from '../domain.js';
import { errors } from '../errors.js';
import { fixes, GPU_PACKAGE, NATIVE_PACKAGE } from './fixes.js';
import { usableGpuCount } from './cuda.js';
import { adapterLine, autoSkipReason, probeWebgpu, webgpuInstalled, registerWebgpuBackend, webgpuFixes, type WebgpuAdapter } from './webgpu.js';

export { backendChoices };
export type { BackendChoice, BackendName } from '../domain.js';

/** What `useBackend` settled on. */
export interface BackendInfo {
  name: BackendName;
  /** The TensorFlow.js backend it runs on: `tensorflow`, `wasm` or `cpu`. */
  tfjsBackend: string;
  /** 128-bit wasm SIMD in use (wasm only). */
  simd: boolean;
  /** Threads one instance computes with. tfjs disables wasm threads under Node. */
  threads: number;
  /** The accelerator, for gpu and webgpu. */
  device?: string;
  /** Dawn's adapter, for webgpu. */
  adapter?: WebgpuAdapter;
  /** Why this backend, and why each earlier candidate was passed over. */
  reason: string;
  /**
   * The native addon fails when loaded in a second worker thread of one process
   * (tensorflow/tfjs#8388): actors on gpu/native must each live in their own
   * process (a process host), not in a worker thread. webgpu actors too, by
   * default: ending a thread with a GPU read pending aborts the whole process.
   */
  needsProcessHost: boolean;
}

/** Why a candidate can or cannot be used, without switching to it. */
export interface Availability {
  name: BackendName;
  installed: boolean;
  usable: boolean;
  detail: string;
  /** webgpu: the adapter Dawn offers (a fallback one is usable only by name). */
  adapter?: WebgpuAdapter;
}

const requireHere = createRequire(import.meta.url);

export { fixes };

function installed(pkg: string): boolean {
  try {
    requireHere.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

interface NativeBackend extends tf.KernelBackend {
  isUsingGpuDevice?: boolean;
}

/**
 * Imports a native package, which registers the `tensorflow` backend.
 * The specifier is a variable so TypeScript and bundlers leave the optional
 * peer alone when it is not installed.
 */
async function importNative(pkg: string): Promise<void> {
  const specifier: string = pkg;
  await import(specifier);
}

let wasmSimd: boolean | undefined;

async function loadWasm(): Promise<boolean> {
  await import('@tensorflow/tfjs-backend-wasm');
  const { registerWasmTrainingKernels } = await import('./wasm/index.js');
  registerWasmTrainingKernels();
  if (wasmSimd === undefined) wasmSimd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  return wasmSimd;
}

async function activate(tfjsName: string): Promise<void> {
  const ok = await tf.setBackend(tfjsName);
  if (!ok) throw errors.backendUnavailable(`backend ${tfjsName} failed to initialise`);
  await tf.ready();
}

async function tryGpu(): Promise<BackendInfo | string> {
  if (!installed(GPU_PACKAGE)) return `gpu: ${GPU_PACKAGE} is not installed`;
  if (!isMainThread) return `gpu: ${fixes.thread('gpu')}`;
  if (usableGpuCount() === 0) return 'gpu: no CUDA device visible (no /proc/driver/nvidia/gpus)';
  try {
    await importNative(GPU_PACKAGE);
    await activate('tensorflow');
  } catch (e) {
    return `gpu: ${GPU_PACKAGE} failed to load: ${firstLine(e)}`;
  }
  const backend = tf.backend() as NativeBackend;
  if (!backend.isUsingGpuDevice) return 'gpu: TensorFlow found no usable CUDA device (check CUDA 11.2 and cuDNN 8.1)';
  const visible = process.env['CUDA_VISIBLE_DEVICES'];
  return {
    name: 'gpu',
    tfjsBackend: 'tensorflow',
    simd: false,
    threads: 1,
    device: visible ? `cuda:${visible}` : 'cuda:0',
    reason: '',
    needsProcessHost: true,
  };
}

/**
 * webgpu on Dawn's adapter. A fallback (software) adapter only when `explicit`:
 * `auto` would otherwise pick lavapipe over wasm and train far slower.
 */
async function tryWebgpu(explicit: boolean): Promise<BackendInfo | string> {
  const skip = explicit || !webgpuInstalled() ? undefined : autoSkipReason();
  if (skip) return skip;
  const probe = await probeWebgpu();
  if (!probe.ok) return `webgpu: ${probe.missing.replace(/^backend webgpu /, '')}`;
  const { adapter } = probe;
  if (adapter.fallback && !explicit) return webgpuFixes.fallback(adapter);
  try {
    await registerWebgpuBackend();
    await activate('webgpu');
  } catch (e) {
    // A failed setBackend leaves tfjs on webgpu, where every op then throws.
    await tf.setBackend('cpu');
    return `webgpu: failed to initialise on ${adapter.description}: ${firstLine(e)}`;
  }
  return {
    name: 'webgpu',
    tfjsBackend: 'webgpu',
    simd: false,
    threads: 1,
    device: adapter.description || adapter.device,
    adapter,
    reason: '',
    needsProcessHost: true,
  };
}

async function tryNative(): Promise<BackendInfo | string> {
  if (!installed(NATIVE_PACKAGE)) return `native: ${NATIVE_PACKAGE} is not installed`;
  if (!isMainThread) return `native: ${fixes.thread('native')}`;
  try {
    await importNative(NATIVE_PACKAGE);
    await activate('tensorflow');
  } catch (e) {
    return `native: ${NATIVE_PACKAGE} failed to load: ${firstLine(e)}`;
  }
  return { name: 'native', tfjsBackend: 'tensorflow', simd: false, threads: 1, reason: '', needsProcessHost: true };
}

async function tryWasm(): Promise<BackendInfo | string> {
  if (!('WebAssembly' in globalThis)) return 'wasm: this runtime has no WebAssembly';
  try {
    const simd = await loadWasm();
    await activate('wasm');
    return { name: 'wasm', tfjsBackend: 'wasm', simd, threads: 1, reason: '', needsProcessHost: false };
  } catch (e) {
    return `wasm: failed to initialise: ${firstLine(e)}`;
  }
}

async function useCpu(): Promise<BackendInfo> {
  await activate('cpu');
  return { name: 'cpu', tfjsBackend: 'cpu', simd: false, threads: 1, reason: '', needsProcessHost: false };
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]!.trim();
}

function describe(info: BackendInfo, passedOver: string[], explicit: boolean): BackendInfo {
  const chosen =
    info.name === 'wasm'
      ? `wasm ${info.simd ? 'with SIMD' : 'without SIMD (this runtime lacks 128-bit wasm SIMD: slower)'}, ${info.threads} thread per worker; parallelism comes from workers`
      : info.name === 'gpu'
        ? `gpu on ${info.device}`
        : info.name === 'webgpu' && info.adapter
          ? `webgpu on ${adapterLine(info.adapter)}`
          : info.name;
  const why = explicit ? `${chosen}: chosen explicitly` : `${chosen}${passedOver.length ? `; passed over ${passedOver.join('; ')}` : ''}`;
  return { ...info, reason: why };
}

/**
 * Leaves TensorFlow.js on the chosen backend, with paragen's wasm kernels
 * registered, and says what it chose and why.
 *
 * @example
 * const info = await useBackend('auto');
 * console.log(info.name, info.reason); // "wasm", "wasm with SIMD …; passed over gpu: …"
 */
export async function useBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (!(backendChoices as readonly string[]).includes(choice)) {
    throw errors.invalidValue('backend', `one of ${backendChoices.map((c) => `'${c}'`).join(', ')}`, choice);
  }
  quietTfjs();
  const info = await choose(choice);
  active = info.name;
  return info;
}

let active: BackendName | undefined;

/** The backend the last `useBackend` of this thread settled on (what `auto` resolved to). */
export function activeBackend(): BackendName | undefined {
  return active;
}

async function choose(choice: BackendChoice): Promise<BackendInfo> {
  switch (choice) {
    case 'gpu': {
      const r = await tryGpu();
      if (typeof r === 'string') throw errors.backendUnavailable(gpuFix(r));
      return describe(r, [], true);
    }
    case 'webgpu': {
      const r = await tryWebgpu(true);
      if (typeof r === 'string') throw errors.backendUnavailable(r.replace(/^webgpu: /, 'backend webgpu '));
      return describe(r, [], true);
    }
    case 'native': {
      const r = await tryNative();
      if (typeof r === 'string') {
        throw errors.backendUnavailable(r.includes('not installed') ? fixes.native : `backend ${r}`);
      }
      return describe(r, [], true);
    }
    case 'wasm': {
      const r = await tryWasm();
      if (typeof r === 'string') throw errors.backendUnavailable(`backend ${r}`);
      return describe(r, [], true);
    }
    case 'cpu':
      return describe(await useCpu(), [], true);
    case 'auto': {
      const passed: string[] = [];
      for (const attempt of [tryGpu, () => tryWebgpu(false), tryNative, tryWasm]) {
        const r = await attempt();
        if (typeof r !== 'string') return describe(r, passed, false);
        passed.push(r);
      }
      return describe(await useCpu(), passed, false);
    }
  }
}

function gpuFix(reason: string): string {
  if (reason.includes('not installed')) return fixes.gpu;
  if (reason.includes('worker thread')) return fixes.thread('gpu');
  return `backend ${reason}; ${fixes.gpu.replace(/^backend gpu needs /, 'it needs ')}`;
}

/**
 * Reports every backend's availability without changing the active one
 * (except that a native package, when installed, is imported to check it).
 */
export async function probeBackends(): Promise<Availability[]> {
  const gpuInstalled = installed(GPU_PACKAGE);
  const nativeInstalled = installed(NATIVE_PACKAGE);
  const cuda = usableGpuCount() > 0; // cheap: no CUDA library loaded
  const out: Availability[] = [];
  out.push({
    name: 'gpu',
    installed: gpuInstalled,
    usable: gpuInstalled && cuda && isMainThread,
    detail: !gpuInstalled
      ? `missing ${GPU_PACKAGE} (needs CUDA 11.2, cuDNN 8.1): npm i ${GPU_PACKAGE}`
      : !cuda
        ? 'installed, but no CUDA device is visible'
        : 'installed, CUDA device visible (loads in a process host)',
  });
  const webgpu = await probeWebgpu();
  out.push(
    webgpu.ok
      ? { name: 'webgpu', installed: true, usable: true, detail: adapterLine(webgpu.adapter), adapter: webgpu.adapter }
      : { name: 'webgpu', installed: webgpu.installed, usable: false, detail: webgpu.missing },
  );
  out.push({
    name: 'native',
    installed: nativeInstalled,
    usable: nativeInstalled && isMainThread,
    detail: nativeInstalled ? 'installed (loads in a process host)' : `missing ${NATIVE_PACKAGE}: npm i ${NATIVE_PACKAGE}`,
  });
  let simd = false;
  let wasmOk = false;
  let wasmDetail = '';
  try {
    simd = await loadWasm();
    wasmOk = true;
    wasmDetail = simd ? 'SIMD supported; 1 thread per worker (tfjs disables wasm threads in Node)' : 'no SIMD: slower';
  } catch (e) {
    wasmDetail = `failed to load: ${firstLine(e)}`;
  }
  out.push({ name: 'wasm', installed: true, usable: wasmOk, detail: wasmDetail });
  out.push({ name: 'cpu', installed: true, usable: true, detail: 'pure JavaScript, always available, slowest' });
  return out;
}

let quieted = false;

/**
 * tfjs prints a banner recommending tfjs-node the first time the cpu backend
 * is created in Node. paragen chooses backends itself and reports why, so the
 * banner would only mislead (the package cannot even install offline).
 */
function quietTfjs(): void {
  if (quieted) return;
  quieted = true;
  // PROD only silences tfjs's warnings; IS_TEST would also turn on its
  // per-kernel leak checks.
  tf.env().set('PROD', true);
}
