/**
 * Shared settings and measures of the engine tests: small, fast runs of the
 * real models on the real MNIST, on the wasm backend.
 */
import type { Dataset } from '../../src/data/index.js';
import { ActorEngine, type ActorEngineHooks, type ActorEngineOptions } from '../../src/parallel/index.js';
import type { EngineEvent, StateFiles, StepResult } from '../../src/parallel/engine.js';

/** A run's settings; the strategy and host are set per test. */
export function options(model: 'dcgan-small' | 'vae-mlp' | 'vae-conv', overrides: Partial<ActorEngineOptions> = {}): ActorEngineOptions {
  const vae = model.startsWith('vae');
  return {
    model,
    batchSize: vae ? 16 : 8,
    lr: vae ? 1e-3 : 2e-4,
    beta1: vae ? 0.9 : 0.5,
    seed: 5,
    backend: 'wasm',
    strategy: 'single',
    host: 'thread',
    maxRestarts: 3,
    snapshotEvery: 10,
    prefetch: 2,
    ...overrides,
  };
}

/** Every float of every `.bin` file (weights, then optimizer moments), by file. */
export function floats(files: StateFiles): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [path, data] of Object.entries(files)) {
    if (path.endsWith('.bin') && data instanceof Uint8Array) out.set(path, new Float32Array(data.slice().buffer));
  }
  return out;
}

/** max |a − b| / max |b| over all files: the relative difference of two states. */
export function stateDifference(a: StateFiles, b: StateFiles): number {
  const fa = floats(a);
  const fb = floats(b);
  if ([...fa.keys()].sort().join() !== [...fb.keys()].sort().join()) return Infinity;
  let diff = 0;
  let scale = 0;
  for (const [path, x] of fa) {
    const y = fb.get(path)!;
    if (x.length !== y.length) return Infinity;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(y[i]!));
    }
  }
  return scale === 0 ? diff : diff / scale;
}

/** max over steps and losses of |a − b| / |b|. */
export function lossDifference(a: readonly StepResult[], b: readonly StepResult[]): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  a.forEach((r, i) => {
    for (const [name, value] of Object.entries(b[i]!.losses)) {
      const got = r.losses[name];
      if (got === undefined) return (worst = Infinity);
      worst = Math.max(worst, Math.abs(got - value) / Math.max(Math.abs(value), 1e-12));
    }
  });
  return worst;
}

/**
 * The paths whose contents differ, byte for byte, between two states (an
 * empty list: identical). Much faster than a deep `toEqual` over megabytes.
 */
export function differingFiles(a: StateFiles, b: StateFiles): string[] {
  const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return paths.filter((path) => {
    const x = a[path];
    const y = b[path];
    if (x === undefined || y === undefined) return true;
    if (typeof x === 'string' || typeof y === 'string') return x !== y;
    return Buffer.compare(x, y) !== 0;
  });
}

/** The files as `restore()` takes them. */
export function asMap(files: StateFiles): Map<string, Uint8Array> {
  return new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? new TextEncoder().encode(v) : v]));
}

/** Whether every tensor count stayed the same, actor by actor. */
export function flat(before: Readonly<Record<string, { tensors: number }>>, after: Readonly<Record<string, { tensors: number }>>): boolean {
  const names = Object.keys(before);
  return names.length > 0 && names.every((n) => after[n]?.tensors === before[n]!.tensors) && Object.keys(after).length === names.length;
}

/** What steps computed — everything but the bubble, which is a measurement of time. */
export function computed(results: readonly StepResult[]): Omit<StepResult, 'bubble'>[] {
  return results.map(({ bubble: _bubble, ...rest }) => rest);
}

/** `n` steps of `engine`. */
export async function steps(engine: { step(): Promise<StepResult> }, n: number): Promise<StepResult[]> {
  const out: StepResult[] = [];
  for (let i = 0; i < n; i++) out.push(await engine.step());
  return out;
}

/** What `runEngine` saw: each step's result, every event, and the final state. */
export interface EngineRun {
  results: StepResult[];
  events: EngineEvent[];
  files: StateFiles;
}

/** `n` steps of a fresh engine on `dataset`, its events, and its final state; the engine is closed after. */
export async function runEngine(
  dataset: Dataset,
  config: ActorEngineOptions,
  n: number,
  hooks: ActorEngineHooks = {},
): Promise<EngineRun> {
  const engine = await ActorEngine.create(config, dataset, hooks);
  const events: EngineEvent[] = [];
  engine.events$.subscribe((e) => events.push(e));
  try {
    const results = await steps(engine, n);
    return { results, events, files: await engine.save() };
  } finally {
    await engine.close();
  }
}
