/**
 * One GPU per process. TensorFlow in one process takes every GPU it sees, and
 * most of each one's memory; process hosts (the only way to run the native
 * backends, tensorflow/tfjs#8388) each get a `CUDA_VISIBLE_DEVICES` of their
 * own instead, round robin when there are more workers than GPUs, and then
 * `TF_FORCE_GPU_ALLOW_GROWTH` so that processes sharing a GPU share its memory.
 *
 * Not verified on a GPU: written to CUDA's and TensorFlow's documented
 * environment variables; the development machines have none.
 */
import { existsSync, readdirSync } from 'node:fs';

/** Where the NVIDIA driver lists one folder per GPU (Linux). */
export const NVIDIA_GPUS_DIR = '/proc/driver/nvidia/gpus';

/**
 * GPUs the NVIDIA driver lists: one folder each in `gpusDir`; without that
 * folder (some containers), a device node still shows one GPU.
 */
export function driverGpuCount(gpusDir = NVIDIA_GPUS_DIR): number {
  if (existsSync(gpusDir)) return readdirSync(gpusDir).length;
  return existsSync('/dev/nvidia0') ? 1 : 0;
}

/**
 * The CUDA devices this process may use, as the ids a child's
 * `CUDA_VISIBLE_DEVICES` takes: the parent's own list when it set one (ids or
 * UUIDs; `''` or `-1` hide every device), otherwise 0 … n-1 for the n GPUs
 * the driver lists. Empty when there are none.
 */
export function visibleCudaDevices(env: NodeJS.ProcessEnv = process.env, gpusDir = NVIDIA_GPUS_DIR): string[] {
  const visible = env['CUDA_VISIBLE_DEVICES'];
  if (visible !== undefined) {
    const ids = visible.split(',').map((id) => id.trim()).filter((id) => id !== '');
    const hidden = ids.findIndex((id) => id === '-1');
    // CUDA ignores the list from the first invalid id on; -1 is the usual "none".
    return hidden < 0 ? ids : ids.slice(0, hidden);
  }
  return Array.from({ length: driverGpuCount(gpusDir) }, (_, i) => String(i));
}

/** How many GPUs TensorFlow in this process could use: the visible ones, no more than the driver lists. */
export function usableGpuCount(env: NodeJS.ProcessEnv = process.env, gpusDir = NVIDIA_GPUS_DIR): number {
  return Math.min(driverGpuCount(gpusDir), visibleCudaDevices(env, gpusDir).length);
}

/**
 * The environment of process worker `worker` out of `workers`, given the
 * devices: its own GPU, and memory growth when GPUs are shared. Empty
 * without devices (the wasm and cpu backends ignore both variables).
 */
export function gpuEnvironment(
  worker: number,
  workers: number,
  devices: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  if (devices.length === 0) return {};
  const out: Record<string, string> = { CUDA_VISIBLE_DEVICES: devices[worker % devices.length]! };
  if (workers > devices.length && env['TF_FORCE_GPU_ALLOW_GROWTH'] === undefined) out['TF_FORCE_GPU_ALLOW_GROWTH'] = 'true';
  return out;
}
