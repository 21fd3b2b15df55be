/**
 * Pipeline stages on process hosts pass their activations straight to each
 * other over a TCP pair (tcp-pair.ts), not through the coordinator: the
 * generator's forward reply carries no fake batch, the discriminator's
 * request none either, and the gradient goes back the same way. The same
 * calls relayed through the coordinator (thread hosts, no pair) give the
 * same losses and gradients bit for bit; whole runs on process hosts give
 * the thread hosts' losses and state, and survive a stage's crash at a new
 * epoch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { paragenSystem, type ParagenSystem } from '../../actors/catalog.js';
import type { NetworkInit } from '../../actors/protocol.js';
import { newRunToken } from '../../src/actor/collective/tcp-mesh.js';
import { transfer, type HostKind } from '../../src/actor/index.js';
import { useBackend } from '../../src/backend/index.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import { modelSpec, type GanSpec } from '../../src/models/index.js';
import { ActorEngine, type StateFiles, type StepResult } from '../../src/parallel/index.js';
import { Rng } from '../../src/rng.js';
import { computed, differingFiles, lossDifference, options, stateDifference, steps } from './helpers.js';

let dataset: Dataset;
beforeAll(async () => {
  await useBackend('wasm');
  dataset = loadDataset('mnist');
});

const ROWS = 4;
const spec = modelSpec('dcgan-small') as GanSpec;
const base: NetworkInit = { model: 'dcgan-small', seed: 3, lr: 1e-3, beta1: 0.5, backend: 'wasm' };

/** One GAN step by hand: G forward, D backward, G backward; with a stage pair on process hosts, or relayed on threads. */
async function handStep(host: HostKind) {
  const system: ParagenSystem = paragenSystem({ host, workers: 2 });
  try {
    const paired = host === 'process';
    const stage = (side: 0 | 1) => (paired ? { stage: { via: 'tcp' as const, side } } : {});
    const g = await system.spawn('generator', 'generator', { ...base, ...stage(0) }, { worker: 0 });
    const d = await system.spawn('discriminator', 'discriminator', { ...base, ...stage(1) }, { worker: 1 });
    if (paired) {
      const token = newRunToken();
      const [ga, da] = await Promise.all([g.call('ringOpen', { epoch: 0, token }), d.call('ringOpen', { epoch: 0, token })]);
      expect(ga.stage && da.stage).toBeTruthy();
      expect(ga.gradients).toBeUndefined();
      await Promise.all([g.call('ringConnect', { stage: da.stage! }), d.call('ringConnect', { stage: ga.stage! })]);
    }
    const rng = new Rng(11);
    const noise = Float32Array.from({ length: ROWS * spec.noiseDim }, () => rng.normal());
    const real = Float32Array.from({ length: ROWS * 28 * 28 }, () => rng.next() * 2 - 1);
    const forward = await g.call('forward', transfer({ step: 1, noise, seed: 5 }, [noise]));
    const { fake } = forward;
    const request = { step: 1, real, seeds: { real: 6, fake: 7 }, ...(fake ? { fake } : {}) };
    const dReply = await d.call('backward', request);
    const { fakeGrad } = dReply;
    const gReply = await g.call('backward', { step: 1, ...(fakeGrad ? { upstream: fakeGrad } : {}) });
    return { fake, fakeGrad, dLoss: dReply.dLoss, gLoss: dReply.gLoss, dSum: dReply.gradSum, gSum: gReply.gradSum };
  } finally {
    await system.close();
  }
}

describe('a GAN step between stages on two process hosts', () => {
  it('moves the fake batch and its gradient over the pair, with the relayed step’s losses and gradients bit for bit', async () => {
    const [direct, relayed] = await Promise.all([handStep('process'), handStep('thread')]);
    expect(direct.fake).toBeUndefined();
    expect(direct.fakeGrad).toBeUndefined();
    expect(relayed.fake).toHaveLength(ROWS * 28 * 28);
    expect(relayed.fakeGrad).toHaveLength(ROWS * 28 * 28);
    expect(Number.isFinite(direct.dLoss) && Number.isFinite(direct.gSum!)).toBe(true);
    expect({ ...direct, fake: undefined, fakeGrad: undefined }).toEqual({ ...relayed, fake: undefined, fakeGrad: undefined });
  });
});

async function run(config: ReturnType<typeof options>, n: number, fault?: string): Promise<{ results: StepResult[]; files: StateFiles; restarts: string[] }> {
  const engine = await ActorEngine.create(fault ? { ...config, fault } : config, dataset);
  const restarts: string[] = [];
  engine.events$.subscribe((e) => e.type === 'restart' && restarts.push(e.actor));
  try {
    return { results: await steps(engine, n), files: await engine.save(), restarts };
  } finally {
    await engine.close();
  }
}

describe('pipelines on process hosts (stage pairs)', () => {
  let threads: Awaited<ReturnType<typeof run>>;
  const config = options('dcgan-small', { strategy: 'pipeline', workers: 2, microbatches: 4, snapshotEvery: 2 });
  beforeAll(async () => {
    threads = await run(config, 4);
  });

  it('dcgan-small, 4 microbatches: the thread hosts’ losses and state', async () => {
    const processes = await run({ ...config, host: 'process' }, 4);
    expect(lossDifference(processes.results, threads.results)).toBeLessThanOrEqual(1e-5);
    expect(stateDifference(processes.files, threads.files)).toBeLessThanOrEqual(1e-5);
  });

  it('a generator that dies with microbatches in flight: restarted at a new epoch, the same state bit for bit', async () => {
    const clean = await run({ ...config, host: 'process' }, 4);
    const crashed = await run({ ...config, host: 'process' }, 4, 'crash:generator@3');
    expect(crashed.restarts).toEqual(['generator']);
    expect(computed(crashed.results)).toEqual(computed(clean.results));
    expect(differingFiles(crashed.files, clean.files)).toEqual([]);
  });

  it('data × pipeline, vae-mlp on 4 process hosts: the thread hosts’ losses and state', async () => {
    const vae = options('vae-mlp', { strategy: 'pipeline', workers: 4, microbatches: 2 });
    const [onThreads, onProcesses] = [await run(vae, 3), await run({ ...vae, host: 'process' }, 3)];
    expect(lossDifference(onProcesses.results, onThreads.results)).toBeLessThanOrEqual(1e-5);
    expect(stateDifference(onProcesses.files, onThreads.files)).toBeLessThanOrEqual(1e-5);
  });
});
