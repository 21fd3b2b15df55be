/**
 * Supervision with real deaths: a worker that exits (`--fault`), dies of an
 * uncaught error, or exhausts the restart budget. The guarantee under test:
 * after a restart, every step is done once and the weights, optimizer state,
 * data cursor and RNG state are bit for bit those of the uncrashed run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import { ParagenError } from '../../src/errors.js';
import { ActorEngine, type EngineEvent } from '../../src/parallel/index.js';
import { LocalEngine } from '../reference/local-engine.js';
import { asMap, computed, differingFiles, options, runEngine, stateDifference, steps, type EngineRun } from './helpers.js';

let dataset: Dataset;
beforeAll(async () => {
  await useBackend('wasm');
  dataset = loadDataset('mnist');
});

describe('a crash at step 20 of a 60-step VAE run (model strategy, threads)', () => {
  let clean: EngineRun;
  let crashed: EngineRun;
  beforeAll(async () => {
    const config = options('vae-mlp', { strategy: 'model', batchSize: 8 });
    clean = await runEngine(dataset, config, 60);
    crashed = await runEngine(dataset, { ...config, fault: 'crash:encoder@20' }, 60);
  });

  it('does all 60 steps, each reported once, with the same losses', () => {
    expect(crashed.results).toHaveLength(60);
    expect(computed(crashed.results)).toEqual(computed(clean.results));
  });

  it('reports one restart, naming the actor and the cause', () => {
    expect(clean.events).toEqual([]);
    expect(crashed.events).toEqual([{ type: 'restart', actor: 'encoder', cause: 'worker 0 exited with code 1', attempt: 1 }]);
  });

  it('ends with exactly the weights, optimizer state, cursor and RNG of the uncrashed run', () => {
    expect(differingFiles(crashed.files, clean.files)).toEqual([]);
  });
});

describe('a GAN whose discriminator dies between snapshots (single strategy)', () => {
  it('replays from the last snapshot to the same state', async () => {
    const config = options('dcgan-small', { snapshotEvery: 4 });
    const clean = await runEngine(dataset, config, 10);
    const crashed = await runEngine(dataset, { ...config, fault: 'crash:discriminator@7' }, 10);
    expect(computed(crashed.results)).toEqual(computed(clean.results));
    // Every actor shared the dead worker: one restart, charged to the one that was working.
    expect(crashed.events).toEqual([{ type: 'restart', actor: 'discriminator', cause: 'worker 0 exited with code 1', attempt: 1 }]);
    expect(differingFiles(crashed.files, clean.files)).toEqual([]);
  });
});

describe('an uncaught error in a process host', () => {
  it('restarts the process and reaches the same state', async () => {
    const config = options('vae-mlp', { strategy: 'model', host: 'process', batchSize: 8, snapshotEvery: 3 });
    const clean = await runEngine(dataset, options('vae-mlp', { batchSize: 8 }), 5);
    const crashed = await runEngine(dataset, config, 5, { fault: { actor: 'decoder', plan: { kind: 'throw', step: 5 } } });
    expect(computed(crashed.results)).toEqual(computed(clean.results));
    // Code 7, not 1: the wasm backend's emscripten glue rethrows from its own 'uncaughtException' handler.
    expect(crashed.events).toEqual([
      {
        type: 'restart',
        actor: 'decoder',
        cause: 'worker 1 (process) exited with code 7 after an uncaught Error: injected fault: actor decoder threw at step 5',
        attempt: 1,
      },
    ]);
    expect(differingFiles(crashed.files, clean.files)).toEqual([]);
  });
});

describe('a worker thread over its memory limit', () => {
  it('is restarted, and the run reaches the same state', async () => {
    const config = options('vae-mlp', { batchSize: 8, snapshotEvery: 2 });
    const clean = await runEngine(dataset, config, 4);
    const crashed = await runEngine(dataset, config, 4, {
      fault: { actor: 'encoder', plan: { kind: 'oom', step: 3 } },
      resourceLimits: { maxOldGenerationSizeMb: 128 },
    });
    expect(computed(crashed.results)).toEqual(computed(clean.results));
    expect(crashed.events).toEqual([
      {
        type: 'restart',
        actor: 'encoder',
        cause: 'worker 0 ran out of memory (Worker terminated due to reaching memory limit: JS heap out of memory)',
        attempt: 1,
      },
    ]);
    expect(differingFiles(crashed.files, clean.files)).toEqual([]);
  });
});

describe('a spent restart budget', () => {
  it('fails with an error naming the actor and the cause, and save() still gives the last snapshot', async () => {
    const config = options('vae-mlp', { batchSize: 8, maxRestarts: 0, snapshotEvery: 2, fault: 'crash:dataLoader@4' });
    const engine = await ActorEngine.create(config, dataset);
    const events: EngineEvent[] = [];
    engine.events$.subscribe((e) => events.push(e));
    const local = new LocalEngine(config, dataset);
    try {
      await steps(engine, 3);
      const failure = await engine.step().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ParagenError);
      expect(failure).toMatchObject({
        code: 'ACTOR_FAILED',
        message: 'actor dataLoader failed: worker 0 exited with code 1 (no restarts allowed)',
      });
      expect(events).toEqual([]);
      await expect(engine.step()).rejects.toBe(failure);
      await expect(engine.sample(2, 1)).rejects.toBe(failure);

      // The snapshot of step 2 (snapshots every 2 steps), as a checkpoint LocalEngine continues exactly.
      expect(engine.stateStep).toBe(2);
      await local.restore(asMap(await engine.save()));
      const reference = new LocalEngine(config, dataset);
      await steps(reference, 2);
      expect(stateDifference(await local.save(), await reference.save())).toBe(0);
      expect(await local.step()).toEqual(await reference.step());
      await reference.close();
    } finally {
      await Promise.all([engine.close(), local.close()]);
    }
  });

  it('refuses a fault for an actor the model does not have', async () => {
    await expect(ActorEngine.create(options('vae-mlp', { fault: 'crash:generator@3' }), dataset)).rejects.toThrow(
      "fault must be 'crash:<actor>@<step>' with <actor> one of dataLoader, encoder, decoder and <step> from 1, got 'crash:generator@3'",
    );
  });
});
