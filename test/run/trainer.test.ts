/**
 * The run loop end to end on the real MNIST data, the wasm backend and the
 * in-process engine: events, run directory, exact resume, NaN policy, stop.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/run/events.js';
import { train } from '../../src/run/trainer.js';
import { openTrainedRun } from '../../src/run/trained-run.js';
import { ParagenError } from '../../src/errors.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'paragen-trainer-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const small = { model: 'vae-mlp', batchSize: 32, backend: 'wasm', strategy: 'single', sampleEvery: 0 } as const;

function weights(dir: string, step: number, network: string): Buffer {
  return readFileSync(join(dir, 'checkpoints', String(step), network, 'weights.bin'));
}

describe('train', () => {
  it('emits start, steps, checkpoints, a sample grid and end, and fills the run directory', async () => {
    const out = join(root, 'run');
    const run = train({ ...small, steps: 6, checkpointEvery: 3, out });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const summary = await run.done;
    const seen = (await events).map((e: RunEvent) => e.type);
    expect(seen[0]).toBe('start');
    expect(seen.filter((t) => t === 'step')).toHaveLength(6);
    expect(seen.filter((t) => t === 'checkpoint')).toHaveLength(2);
    expect(seen.at(-2)).toBe('sample');
    expect(seen.at(-1)).toBe('end');
    expect(summary).toMatchObject({ runDir: out, steps: 6, totalSteps: 6, stopped: false, skippedBatches: 0 });
    expect(summary.losses['loss']).toBeGreaterThan(0);
    for (const file of ['config.json', 'metrics.jsonl', 'summary.json', 'samples/6.png', 'checkpoints/3/manifest.json']) {
      expect(existsSync(join(out, file))).toBe(true);
    }
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics).toHaveLength(6);
    expect(JSON.parse(metrics[5]!)).toMatchObject({ step: 6, epoch: 1 });
    // Every event but steps and grids, each with the last step done and a wall-clock time.
    const recorded = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recorded.map((e) => [e['type'], e['step']])).toEqual([['start', 0], ['checkpoint', 3], ['checkpoint', 6], ['end', 6]]);
    expect(recorded[0]).toMatchObject({ placement: { dataLoader: 0, encoder: 0, decoder: 0 } });
    expect(recorded.every((e) => typeof e['time'] === 'string' && !Number.isNaN(Date.parse(e['time'] as string)))).toBe(true);
  });

  it('resumes to exactly the weights of a run that never stopped', async () => {
    const straight = join(root, 'straight');
    await train({ ...small, steps: 8, checkpointEvery: 4, out: straight }).done;
    const resumed = join(root, 'resumed');
    await train({ ...small, steps: 4, out: resumed }).done;
    const summary = await train({ resume: resumed, steps: 8 }).done;
    expect(summary.steps).toBe(8);
    for (const network of ['encoder', 'decoder']) {
      expect(weights(resumed, 8, network).equals(weights(straight, 8, network))).toBe(true);
    }
    // The metrics of the resumed run hold each step once.
    const steps = readFileSync(join(resumed, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("keeps dcgan-small's moving average of G in its checkpoints, resumed exactly, and sample and eval read it", async () => {
    const gan = { model: 'dcgan-small', batchSize: 16, backend: 'wasm', strategy: 'single', sampleEvery: 0 } as const;
    const straight = join(root, 'gan-straight');
    await train({ ...gan, steps: 8, checkpointEvery: 4, out: straight }).done;
    const resumed = join(root, 'gan-resumed');
    await train({ ...gan, steps: 4, out: resumed }).done;
    await train({ resume: resumed, steps: 8 }).done;
    const optimizer = (dir: string) => readFileSync(join(dir, 'checkpoints', '8', 'generator', 'optimizer.bin'));
    expect(JSON.parse(readFileSync(join(straight, 'checkpoints', '8', 'generator', 'optimizer.json'), 'utf8'))).toMatchObject({ step: 8, average: true });
    expect(optimizer(resumed).equals(optimizer(straight))).toBe(true);
    expect(weights(resumed, 8, 'generator-ema').equals(weights(straight, 8, 'generator-ema'))).toBe(true);
    // The average is not the trained weights, and the discriminator keeps none.
    expect(weights(straight, 8, 'generator-ema').equals(weights(straight, 8, 'generator'))).toBe(false);
    expect(existsSync(join(straight, 'checkpoints', '8', 'discriminator-ema'))).toBe(false);
    const averaged = await openTrainedRun(straight, { networks: () => ['generator'] });
    const trained = await openTrainedRun(straight, { networks: () => ['generator'], averaged: false });
    expect([...averaged.averaged]).toEqual(['generator']);
    expect(trained.averaged.size).toBe(0);
    const [a, t] = await Promise.all([averaged.part('generator').getWeights(), trained.part('generator').getWeights()]);
    expect(a[0]).not.toEqual(t[0]);
    averaged.dispose();
    trained.dispose();
  });

  it('stops on a NaN loss naming the network and the step, keeping the last good checkpoint', async () => {
    const out = join(root, 'nan');
    // A learning rate this large drives the weights to Inf within a few steps.
    const run = train({ ...small, steps: 30, lr: 1e30, checkpointEvery: 1, keep: 50, out });
    const error = (await run.done.catch((e: unknown) => e)) as ParagenError;
    expect(error).toBeInstanceOf(ParagenError);
    expect(error.code).toBe('NON_FINITE');
    expect(error.exitCode).toBe(3);
    const match = /^(loss|gradient) of (encoder|decoder) is NaN or Inf at step (\d+)$/.exec(error.message);
    expect(match).not.toBeNull();
    const failedAt = Number(match![3]);
    expect(existsSync(join(out, 'checkpoints', String(failedAt - 1)))).toBe(true);
    expect(existsSync(join(out, 'checkpoints', String(failedAt)))).toBe(false);
  });

  it('with onNan skip, skips and counts the bad batches', async () => {
    const out = join(root, 'skip');
    const run = train({ ...small, steps: 12, lr: 1e30, onNan: 'skip', out });
    const warnings: string[] = [];
    run.events$.subscribe((e) => {
      if (e.type === 'warning') warnings.push(e.message);
    });
    const summary = await run.done;
    expect(summary.steps).toBe(12);
    expect(summary.skippedBatches).toBeGreaterThan(0);
    expect(warnings).toHaveLength(summary.skippedBatches);
    expect(warnings[0]).toMatch(/^skipped batch at step \d+: (loss|gradient) of (encoder|decoder) is NaN or Inf$/);
  });

  it('stop() finishes the step in flight, writes a checkpoint and reports a stopped run', async () => {
    const out = join(root, 'stop');
    const run = train({ ...small, steps: 1000, out });
    run.events$.subscribe((e) => {
      if (e.type === 'step' && e.step === 3) void run.stop();
    });
    const summary = await run.done;
    expect(summary.stopped).toBe(true);
    expect(summary.steps).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(out, 'checkpoints', String(summary.steps), 'manifest.json'))).toBe(true);
  });

  it('fails naming the actor when its restart budget is spent, with a checkpoint of the last consistent state', async () => {
    const out = join(root, 'failed');
    const run = train({ ...small, strategy: 'single', steps: 20, fault: 'crash:decoder@5', maxRestarts: 0, snapshotEvery: 2, out });
    const error = (await run.done.catch((e: unknown) => e)) as ParagenError;
    expect(error.code).toBe('ACTOR_FAILED');
    expect(error.message).toMatch(/^actor decoder failed: /);
    // The supervisor's last snapshot was taken after step 4; the crash came at step 5.
    expect(existsSync(join(out, 'checkpoints', '4', 'manifest.json'))).toBe(true);
    const resumed = await train({ resume: out, fault: undefined, steps: 6 }).done;
    expect(resumed.steps).toBe(6);
  });

  it('refuses an impossible strategy before touching the disk', async () => {
    const out = join(root, 'strategy');
    const error = (await train({ ...small, strategy: 'model', workers: 3, steps: 1, out }).done.catch((e: unknown) => e)) as ParagenError;
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^workers must be /);
    expect(existsSync(out)).toBe(false);
  });

  it('rejects bad config with every problem at once, before touching the disk', async () => {
    const out = join(root, 'bad');
    const error = (await train({ model: 'vae-mlp', batchSize: -3, lr: 0, out } as never).done.catch((e: unknown) => e)) as ParagenError;
    expect(error.exitCode).toBe(2);
    expect(error.message.split('\n')).toEqual(['batchSize must be a positive integer, got -3', 'lr must be a positive number, got 0']);
    expect(existsSync(out)).toBe(false);
  });
});
