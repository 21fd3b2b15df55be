/**
 * `paragen info`: the machine paragen sees — Node, cores, which backends
 * import and work here, the one `auto` picks and why, wasm SIMD, and what the
 * GPU path lacks. `systemInfo()` gathers it (also for Node scripts); the
 * handler prints it as a short table or, with `--json`, as one JSON object.
 */
import { existsSync, readdirSync } from 'node:fs';
import { cpus, availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { probeBackends, usableGpuCount, useBackend, type Availability, type BackendChoice, type BackendName } from '../../backend/index.js';
import { adapterLine, probeWebgpu, type WebgpuProbe } from '../../backend/webgpu.js';
import { ParagenError } from '../../errors.js';
import type { CommandHandler } from '../command.js';
import { packageVersion } from '../version.js';

/** The backend a choice resolves to, or why it cannot. */
export type BackendPick =
  | { readonly choice: BackendChoice; readonly ok: true; readonly name: BackendName; readonly reason: string; readonly device?: string }
  | { readonly choice: BackendChoice; readonly ok: false; readonly error: string };

/** What the GPU path (`@tensorflow/tfjs-node-gpu` on CUDA 11.2 + cuDNN 8.1) has and lacks here. */
export interface GpuPath {
  readonly ready: boolean;
  /** NVIDIA devices the driver lists (0 when none, or hidden by CUDA_VISIBLE_DEVICES). */
  readonly devices: number;
  /** Each thing missing, with its fix; empty when nothing is known to be missing. */
  readonly missing: readonly string[];
}

export interface SystemInfo {
  readonly paragen: string;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  /** Cores Node may use (`os.availableParallelism()`). */
  readonly cpus: number;
  readonly cpuModel: string;
  readonly tfjs: string;
  readonly tfjsWasm: string;
  /** Every backend: installed (importable) and usable here. */
  readonly backends: readonly Availability[];
  /** What `--backend auto` picks, and why it passed over the others. */
  readonly auto: BackendPick;
  /** What the `--backend` given picks, when it is not `auto`. */
  readonly requested?: BackendPick;
  /** 128-bit wasm SIMD in this runtime. */
  readonly wasmSimd: boolean;
  readonly gpu: GpuPath;
  /** Dawn's adapter for the webgpu backend, or what is missing (a fallback adapter is used only by name). */
  readonly webgpu: WebgpuProbe;
}

type Env = Readonly<Record<string, string | undefined>>;

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
/** The CUDA runtime and cuDNN that tfjs-node-gpu 4.x (libtensorflow 2.9.1) loads. */
const GPU_LIBRARIES = [
  { file: 'libcudart.so.11.0', what: 'the CUDA 11.2 runtime' },
  { file: 'libcudnn.so.8', what: 'cuDNN 8.1' },
] as const;

async function pick(choice: BackendChoice): Promise<BackendPick> {
  try {
    const info = await useBackend(choice);
    return { choice, ok: true, name: info.name, reason: info.reason, ...(info.device ? { device: info.device } : {}) };
  } catch (error) {
    if (!(error instanceof ParagenError)) throw error;
    return { choice, ok: false, error: error.message };
  }
}

/** Folders the dynamic loader searches for the CUDA libraries (Linux). */
function libraryDirs(env: Env): string[] {
  const dirs = (env['LD_LIBRARY_PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  const cudaDirs = existsSync('/usr/local')
    ? readdirSync('/usr/local')
        .filter((name) => name === 'cuda' || name.startsWith('cuda-'))
        .map((name) => join('/usr/local', name, 'lib64'))
    : [];
  return [...dirs, ...cudaDirs, '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];
}

/** Everything the GPU path needs that is not here. */
export function gpuPath(installed: boolean, env: Env = process.env): GpuPath {
  const missing: string[] = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    missing.push(`${GPU_PACKAGE} runs on Linux x64 only (this is ${process.platform} ${process.arch})`);
  }
  if (!installed) missing.push(`${GPU_PACKAGE}: npm i ${GPU_PACKAGE}`);
  const devices = usableGpuCount(env);
  if (devices === 0) {
    const hidden = env['CUDA_VISIBLE_DEVICES'] === '' || env['CUDA_VISIBLE_DEVICES'] === '-1';
    missing.push(hidden ? 'a CUDA device: CUDA_VISIBLE_DEVICES hides them all' : 'a CUDA device (no NVIDIA driver lists a GPU)');
  }
  if (process.platform === 'linux') {
    const dirs = libraryDirs(env);
    for (const lib of GPU_LIBRARIES) {
      if (!dirs.some((d) => existsSync(join(d, lib.file)))) {
        missing.push(`${lib.what} (${lib.file}, looked for in LD_LIBRARY_PATH, /usr/local/cuda*/lib64, /usr/lib*)`);
      }
    }
  }
  return { ready: missing.length === 0, devices, missing };
}

/**
 * The machine as paragen sees it. Leaves TensorFlow.js on the backend
 * `backend` picks (the `auto` pick when `backend` is `auto`).
 *
 * @example
 * const info = await systemInfo();
 * console.log(info.auto.ok ? info.auto.name : info.auto.error, info.gpu.missing);
 */
export async function systemInfo(backend: BackendChoice = 'auto', env: Env = process.env): Promise<SystemInfo> {
  const backends = await probeBackends();
  const wasm = backends.find((b) => b.name === 'wasm');
  const wasmSimd = Boolean(wasm?.usable) && Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const auto = await pick('auto');
  const requested = backend === 'auto' ? undefined : await pick(backend);
  const gpuInstalled = backends.find((b) => b.name === 'gpu')?.installed ?? false;
  return {
    paragen: packageVersion(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    tfjs: tf.version.tfjs,
    tfjsWasm: version_wasm,
    backends,
    auto,
    ...(requested ? { requested } : {}),
    wasmSimd,
    gpu: gpuPath(gpuInstalled, env),
    webgpu: await probeWebgpu(),
  };
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

function describePick(p: BackendPick): string {
  // The reason starts with the backend's name (`wasm with SIMD, …`, `cpu: chosen explicitly`).
  return p.ok ? p.reason : `unavailable: ${p.error}`;
}

/** The human-readable report: a few `label  value` lines, then the backends as a table. */
export function formatInfo(info: SystemInfo): string {
  const lines: [string, string][] = [
    ['paragen', info.paragen],
    ['node', `${info.node} (${info.platform} ${info.arch})`],
    ['cpus', `${info.cpus} × ${info.cpuModel}`],
    ['tfjs', `${info.tfjs} (wasm backend ${info.tfjsWasm})`],
    ['wasm SIMD', yesNo(info.wasmSimd)],
    ['auto picks', describePick(info.auto)],
  ];
  if (info.requested) lines.push([`--backend ${info.requested.choice}`, describePick(info.requested)]);
  lines.push(['webgpu adapter', info.webgpu.ok ? adapterLine(info.webgpu.adapter) : `none: ${info.webgpu.missing}`]);
  lines.push([
    'gpu path',
    info.gpu.ready ? `ready (${info.gpu.devices} device${info.gpu.devices === 1 ? '' : 's'})` : 'not ready; missing:',
  ]);
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  const missing = info.gpu.missing.map((m) => `${' '.repeat(width)}- ${m}\n`).join('');
  const head = lines.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join('') + missing;
  const rows = [['backend', 'installed', 'usable', 'detail'], ...info.backends.map((b) => [b.name, yesNo(b.installed), yesNo(b.usable), b.detail])];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)) + 2);
  const table = rows.map((r) => `${r.slice(0, 3).map((cell, c) => cell.padEnd(widths[c]!)).join('')}${r[3]}\n`).join('');
  return `${head}\n${table}`;
}

export const infoCommand: CommandHandler<'info'> = async (config, io) => {
  const info = await systemInfo(config.backend, io.env);
  io.stdout(config.json ? `${JSON.stringify(info)}\n` : formatInfo(info));
  return 0;
};
