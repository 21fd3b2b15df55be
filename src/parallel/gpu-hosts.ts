/**
 * Where webgpu actors live. Ending a worker thread while Dawn has a GPU read
 * pending aborts the whole process (exit 134, `mapAsync()` never settled), and
 * an actor that crashes ends its thread. So webgpu actors get process hosts —
 * one Dawn instance each, sharing the adapter — where a crash ends only that
 * child, and supervision restarts it from its snapshot.
 *
 * Data-parallel replicas are the exception: in threads they all-reduce in
 * shared memory, faster than the TCP ring process hosts use, so they stay in
 * threads and rely on the cooperative stop (each actor finishes its request
 * before its thread is ended). `--host process` moves them.
 */
import { activeBackend, type BackendChoice } from '../backend/index.js';
import type { StrategyPlan } from './strategy.js';

/** Whether actors of `backend` run on webgpu: named, or what `auto` resolved to in this process. */
export function runsOnWebgpu(backend: BackendChoice): boolean {
  return backend === 'webgpu' || (backend === 'auto' && activeBackend() === 'webgpu');
}

/** `plan` with process hosts where webgpu actors would otherwise live in threads (unless `threads` keeps them there). */
export function webgpuHosts(plan: StrategyPlan, backend: BackendChoice, threads = false): StrategyPlan {
  if (!runsOnWebgpu(backend) || plan.host === 'process' || plan.replicas > 1 || threads) return plan;
  return {
    ...plan,
    host: 'process',
    reason: `${plan.reason}; in process hosts (webgpu: ending a thread with a GPU read pending aborts the whole process)`,
  };
}
