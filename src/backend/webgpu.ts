/**
 * The WebGPU backend: `@tensorflow/tfjs-backend-webgpu` on Dawn's Node
 * bindings (the `webgpu` npm package, a prebuilt `dawn.node`). Both are
 * optional peer dependencies, imported only when asked for.
 *
 * Order matters: the tfjs backend registers itself at import time only if
 * `navigator.gpu` exists, so Dawn's `GPU` object goes on `navigator` first.
 * Dawn needs a Vulkan loader (`libvulkan.so.1`) and a driver; without a GPU,
 * Mesa's lavapipe (scripts/lavapipe.sh) is one, reported as a fallback adapter.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';

export const WEBGPU_PACKAGES = ['webgpu', '@tensorflow/tfjs-backend-webgpu'] as const;

/** The adapter Dawn offers this process: what `paragen info` shows. */
export interface WebgpuAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A software or otherwise limited adapter (lavapipe is one): used only when asked for by name. */
  readonly fallback: boolean;
  /** The limits that bound paragen's tensors and kernels. */
  readonly limits: {
    readonly maxBufferSize: number;
    readonly maxStorageBufferBindingSize: number;
    readonly maxComputeWorkgroupStorageSize: number;
    readonly maxComputeInvocationsPerWorkgroup: number;
    readonly maxComputeWorkgroupsPerDimension: number;
  };
}

/** An adapter, or why there is none (`missing` names the fix). */
export type WebgpuProbe =
  | { readonly ok: true; readonly adapter: WebgpuAdapter }
  | { readonly ok: false; readonly installed: boolean; readonly missing: string };

export const webgpuFixes = {
  install: `backend webgpu needs ${WEBGPU_PACKAGES.join(' and ')}: npm i webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0`,
  noAdapter:
    'backend webgpu found no GPU adapter: install the GPU driver\'s Vulkan ICD and libvulkan1 (containers: NVIDIA_DRIVER_CAPABILITIES must include graphics); ' +
    'without a GPU, run scripts/lavapipe.sh and load .cache/lavapipe/env (set -a; . .cache/lavapipe/env; set +a)',
  dawn: (cause: string) => `backend webgpu could not load dawn.node (needs glibc 2.34+: Debian 12, Ubuntu 22.04 or newer): ${cause}`,
  fallback: (adapter: WebgpuAdapter) =>
    `webgpu: the adapter is a fallback (${adapter.description}); auto uses it only when asked: --backend webgpu`,
} as const;

/** The part of Dawn's `GPU` object paragen uses. */
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
  readonly limits: Record<string, number>;
}
interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const requireHere = createRequire(import.meta.url);

export function webgpuInstalled(): boolean {
  return WEBGPU_PACKAGES.every((pkg) => {
    try {
      // Both are ESM only: resolve their package.json, which their exports allow or not; a folder is enough.
      requireHere.resolve(`${pkg}/package.json`);
      return true;
    } catch {
      try {
        requireHere.resolve(pkg);
        return true;
      } catch {
        return false;
      }
    }
  });
}

/** One Dawn instance per process (or thread): Dawn's `GPU` and its adapter, made once. */
let probe: Promise<WebgpuProbe> | undefined;

/** Which adapter Dawn offers here, without touching TensorFlow.js. */
export function probeWebgpu(): Promise<WebgpuProbe> {
  probe ??= (async (): Promise<WebgpuProbe> => {
    if (!webgpuInstalled()) return { ok: false, installed: false, missing: webgpuFixes.install };
    let dawn: DawnModule;
    try {
      const specifier: string = 'webgpu';
      dawn = (await import(specifier)) as DawnModule;
    } catch (e) {
      return { ok: false, installed: true, missing: webgpuFixes.dawn(firstLine(e)) };
    }
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    installNavigatorGpu(gpu);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { ok: false, installed: true, missing: webgpuFixes.noAdapter };
    return { ok: true, adapter: describeAdapter(adapter) };
  })();
  return probe;
}

/**
 * Puts Dawn's GPU on `navigator`. Node 21+ has a `navigator` of its own (a
 * getter on globalThis), so the property goes on it rather than replacing it.
 */
function installNavigatorGpu(gpu: GpuLike): void {
  const g = globalThis as { navigator?: object };
  if (g.navigator && typeof g.navigator === 'object') {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
}

function describeAdapter(a: AdapterLike): WebgpuAdapter {
  const l = a.limits;
  return {
    vendor: a.info.vendor,
    architecture: a.info.architecture,
    device: a.info.device,
    description: a.info.description,
    // The spec moved the flag from the adapter to its info; Dawn 0.6 has it on info.
    fallback: Boolean(a.info.isFallbackAdapter ?? a.isFallbackAdapter),
    limits: {
      maxBufferSize: l['maxBufferSize'] ?? 0,
      maxStorageBufferBindingSize: l['maxStorageBufferBindingSize'] ?? 0,
      maxComputeWorkgroupStorageSize: l['maxComputeWorkgroupStorageSize'] ?? 0,
      maxComputeInvocationsPerWorkgroup: l['maxComputeInvocationsPerWorkgroup'] ?? 0,
      maxComputeWorkgroupsPerDimension: l['maxComputeWorkgroupsPerDimension'] ?? 0,
    },
  };
}

/**
 * Why `auto` need not start Dawn at all here, or undefined when a real GPU
 * adapter is possible. Starting Dawn without a Vulkan loader, or on lavapipe
 * alone, prints native warnings on stderr in every worker that tries `auto`.
 */
export function autoSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const drivers = (env['VK_DRIVER_FILES'] ?? env['VK_ICD_FILENAMES'] ?? '').split(':').filter((f) => f !== '');
  if (drivers.length > 0 && drivers.every((f) => basename(f).includes('lvp'))) {
    return 'webgpu: only a software Vulkan driver (lavapipe) is configured; auto uses it only when asked: --backend webgpu';
  }
  if (!vulkanLoaderPresent(env)) return 'webgpu: no Vulkan loader (libvulkan.so.1) on this machine';
  return undefined;
}

function vulkanLoaderPresent(env: NodeJS.ProcessEnv): boolean {
  const dirs = (env['LD_LIBRARY_PATH'] ?? '').split(':').filter((d) => d !== '');
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    // The dynamic loader's cache lists every library in the system folders by name.
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib'].some((d) => existsSync(join(d, 'libvulkan.so.1')));
  }
}

let registered: Promise<void> | undefined;

/** Imports the tfjs backend once the adapter is known: it registers `webgpu` with TensorFlow.js. */
export function registerWebgpuBackend(): Promise<void> {
  registered ??= (async () => {
    const specifier: string = '@tensorflow/tfjs-backend-webgpu';
    await import(specifier);
  })();
  return registered;
}

/** A one-line summary of an adapter, for reasons and `paragen info`. */
export function adapterLine(a: WebgpuAdapter): string {
  const kind = a.fallback ? 'fallback adapter' : 'adapter';
  return `${a.description || a.device} (${a.vendor}, ${a.architecture || 'unknown architecture'}, ${kind}; max buffer ${mib(a.limits.maxBufferSize)}, max storage binding ${mib(a.limits.maxStorageBufferBindingSize)})`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]!.trim();
}
