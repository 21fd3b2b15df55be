/**
 * The run as a Node script drives it: `for await` over its events, an
 * AbortSignal that stops it, an Observable that errors when the run fails,
 * and images passed in memory.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/index.js';
import { ParagenError } from '../../src/errors.js';
import type { RunEvent } from '../../src/run/events.js';
import { train } from '../../src/run/trainer.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'paragen-run-api-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const small = { model: 'vae-mlp', batchSize: 32, backend: 'wasm', strategy: 'single', sampleEvery: 0 } as const;

describe('a run from a script', () => {
  it('iterates its events with for await, and an AbortSignal after 5 steps ends it with a stopped summary', async () => {
    const controller = new AbortController();
    const run = train({ ...small, steps: 200, out: join(root, 'abort') }, { signal: controller.signal });
    const seen: RunEvent['type'][] = [];
    for await (const e of run.events$) {
      seen.push(e.type);
      if (e.type === 'step' && e.step === 5) controller.abort();
    }
    const summary = await run.done;
    expect(summary.stopped).toBe(true);
    // The step in flight when the signal came may finish; no more than that.
    expect(summary.steps).toBeGreaterThanOrEqual(5);
    expect(summary.steps).toBeLessThanOrEqual(6);
    expect(seen[0]).toBe('start');
    expect(seen.at(-1)).toBe('end');
    expect(seen).toContain('checkpoint');
  });

  it('stops before the first step when the signal is already aborted', async () => {
    const run = train({ ...small, steps: 50, out: join(root, 'early') }, { signal: AbortSignal.abort() });
    const summary = await run.done;
    expect(summary).toMatchObject({ stopped: true, steps: 0 });
  });

  it('errors its events$ when the run fails: the error event, then the Observable errors with the same ParagenError', async () => {
    const missing = join(root, 'missing.npy');
    const run = train({ ...small, steps: 5, dataset: missing, out: join(root, 'failed') });
    const events: RunEvent[] = [];
    const failure = await new Promise<unknown>((resolve, reject) => {
      run.events$.subscribe({ next: (e) => events.push(e), error: resolve, complete: () => reject(new Error('completed instead of erroring')) });
    });
    expect(failure).toBeInstanceOf(ParagenError);
    expect((failure as ParagenError).message).toBe(`${missing}: no such file`);
    expect(events).toEqual([{ type: 'error', message: `${missing}: no such file`, code: (failure as ParagenError).code }]);
    await expect(run.done).rejects.toBe(failure);
  });

  it('throws out of a for await loop when the run fails', async () => {
    const run = train({ ...small, steps: 5, dataset: join(root, 'nope.npy'), out: join(root, 'failed2') });
    const types: string[] = [];
    const thrown = await (async () => {
      for await (const e of run.events$) types.push(e.type);
    })().catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(ParagenError);
    expect(types).toEqual(['error']);
    await run.done.catch(() => undefined);
  });
});

describe('an in-memory dataset', () => {
  const mnist = loadDataset('mnist');
  const images = mnist.train.images.subarray(0, 640 * 784) as Uint8Array;

  it('trains on { images, shape }, recorded in config.json by name, and must be passed again to resume', async () => {
    const out = join(root, 'memory');
    const summary = await train({ ...small, steps: 4, dataset: { images, shape: [640, 28, 28] }, out }).done;
    expect(summary.steps).toBe(4);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).dataset).toBe('in-memory');
    const refused = await train({ resume: out, steps: 6 }).done.catch((e: unknown) => e);
    expect(refused).toMatchObject({
      exitCode: 2,
      message:
        "dataset must be the images this run trained on, passed again as { images, shape } (its config.json says 'in-memory'), got 'in-memory'",
    });
    const resumed = await train({ resume: out, steps: 6, dataset: { images, shape: [640, 28, 28] } }).done;
    expect(resumed.steps).toBe(6);
  });

  it('is validated like a file, each problem naming its field', async () => {
    const cases: [unknown, string][] = [
      [{ images: [1, 2, 3], shape: [3] }, "dataset.images must be a Uint8Array or a Float32Array, got 'Array'"],
      [{ images, shape: [17920, 28] }, 'dataset.shape must be N×H×W or N×H×W×C with C 1 or 3 and no empty dimension, got [17920,28]'],
      [{ images, shape: [641, 28, 28] }, `dataset.shape must be a shape of ${images.length} elements (the length of dataset.images), got [641,28,28]`],
      [{ images: new Float32Array([0, Number.NaN, 0, 0]), shape: [1, 2, 2] }, 'dataset.images: value 1 is NaN'],
    ];
    for (const [dataset, message] of cases) {
      const error = await train({ ...small, steps: 1, dataset: dataset as never, out: join(root, 'bad') }).done.catch((e: unknown) => e);
      expect(error).toMatchObject({ exitCode: 2, message });
    }
  });
});
