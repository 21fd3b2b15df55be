import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { readNpy } from '../../src/data/index.js';
import { ParagenError } from '../../src/errors.js';
import { sample } from '../../src/eval/sample.js';
import { createPart, modelSpec } from '../../src/models/index.js';
import { encodePart } from '../../src/models/state.js';
import { writeCheckpoint } from '../../src/run/checkpoint.js';
import { corrupt, decodePng, writeRun } from './fixtures.js';

let root: string;
let gan: string;
let vae: string;

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'paragen-sample-'));
  gan = await writeRun(join(root, 'gan'), { model: 'dcgan-small', seeds: [1, 2] });
  vae = await writeRun(join(root, 'vae'), { model: 'vae-mlp', seeds: [3] });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<ParagenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ParagenError);
  return error as ParagenError;
}

describe('sample()', () => {
  it("draws images in [0, 1] from a GAN's generator, the same for a seed", async () => {
    const a = await sample({ run: gan, n: 12, seed: 5, backend: 'wasm' });
    expect(a).toMatchObject({ n: 12, seed: 5, model: 'dcgan-small', step: 2, shape: [12, 28, 28, 1], backend: 'wasm' });
    expect(a.images.length).toBe(12 * 28 * 28);
    expect(Math.min(...a.images)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a.images)).toBeLessThanOrEqual(1);
    const again = await sample({ run: gan, n: 12, seed: 5, backend: 'wasm' });
    expect(again.images).toEqual(a.images);
    // Image i depends on the seed and i only: fewer images are a prefix.
    const fewer = await sample({ run: gan, n: 5, seed: 5, backend: 'wasm' });
    expect(fewer.images).toEqual(a.images.subarray(0, 5 * 784));
    const other = await sample({ run: gan, n: 12, seed: 6, backend: 'wasm' });
    expect(other.images).not.toEqual(a.images);
  });

  it("draws from the prior through a VAE's decoder", async () => {
    const a = await sample({ run: vae, n: 4, seed: 1, backend: 'wasm' });
    expect(a).toMatchObject({ model: 'vae-mlp', step: 1, shape: [4, 28, 28, 1] });
    // Bernoulli means: strictly inside (0, 1).
    expect(Math.min(...a.images)).toBeGreaterThan(0);
    expect(Math.max(...a.images)).toBeLessThan(1);
    expect((await sample({ run: vae, n: 4, seed: 1, backend: 'wasm' })).images).toEqual(a.images);
  });

  it('writes a .png grid and a .npy array, creating the folder', async () => {
    const png = join(root, 'out', 'nested', 'grid.png');
    const r = await sample({ run: gan, n: 10, seed: 0, out: png, backend: 'wasm' });
    expect(r).toMatchObject({ out: png, format: 'png' });
    // ⌈√10⌉ = 4 columns, 3 rows of 28-pixel tiles with 2-pixel padding.
    const { width, height } = decodePng(readFileSync(png));
    expect([width, height]).toEqual([4 * 30 + 2, 3 * 30 + 2]);
    const npy = join(root, 'out', 'samples.npy');
    await sample({ run: vae, n: 3, seed: 0, out: npy, backend: 'wasm' });
    const array = readNpy(npy);
    expect(array.dtype).toBe('float32');
    expect(array.shape).toEqual([3, 28, 28]);
    expect(array.data).toEqual((await sample({ run: vae, n: 3, seed: 0, backend: 'wasm' })).images);
  });

  it('falls back to the previous good checkpoint past a corrupt one, with a warning', async () => {
    const dir = await writeRun(join(root, 'fallback'), { model: 'dcgan-small', seeds: [1, 2] });
    const newest = await sample({ run: dir, n: 4, seed: 0, backend: 'wasm' });
    corrupt(join(dir, 'checkpoints', '2', 'generator', 'weights.bin'));
    const seen: string[] = [];
    const r = await sample({ run: dir, n: 4, seed: 0, backend: 'wasm' }, { onWarning: (m) => seen.push(m) });
    expect(r.step).toBe(1);
    const message = `checkpoint ${join(dir, 'checkpoints', '2')} is corrupt and was skipped: generator/weights.bin does not match its sha256 checksum`;
    expect(seen).toEqual([message]);
    expect(r.warnings).toEqual([message]);
    expect(r.images).not.toEqual(newest.images);
    // Step 1 holds the networks of seed 1: the images of a run that has only that checkpoint.
    const only = await writeRun(join(root, 'only-1'), { model: 'dcgan-small', seeds: [1] });
    expect(r.images).toEqual((await sample({ run: only, n: 4, seed: 0, backend: 'wasm' })).images);
    // A reader leaves the corrupt checkpoint in place for inspection.
    expect(existsSync(join(dir, 'checkpoints', '2'))).toBe(true);
  });

  it('rejects bad input with one-line usage errors (exit code 2)', async () => {
    // Thunks, not promises: a rejection must not wait unhandled while an earlier case is awaited.
    const cases: [() => Promise<unknown>, string][] = [
      [() => sample({ run: gan, out: join(root, 'x.jpg') }), `out must be a file name ending in .png (a grid) or .npy (an array), got '${join(root, 'x.jpg')}'`],
      [() => sample({ run: gan, out: join(root, 'noext') }), `out must be a file name ending in .png (a grid) or .npy (an array), got '${join(root, 'noext')}'`],
      [() => sample({ run: gan, n: 0 }), 'n must be a positive integer, got 0'],
      [() => sample({ run: join(root, 'nope') }), `${join(root, 'nope')}: no such run directory`],
      [() => sample({ run: join(gan, 'config.json') }), `${join(gan, 'config.json')}: not a run directory (it is a file)`],
      [() => sample({ run: join(root, 'out') }), `${join(root, 'out')}: not a run directory (no config.json)`],
    ];
    for (const [start, message] of cases) {
      const error = await failure(start());
      expect(error.message).toBe(message);
      expect(error.exitCode).toBe(2);
    }
  });

  it('says when a run has no checkpoint, or none that verifies', async () => {
    const empty = await writeRun(join(root, 'empty'), { model: 'vae-mlp', seeds: [] });
    const none = await failure(sample({ run: empty, backend: 'wasm' }));
    expect([none.message, none.exitCode]).toEqual([`${empty}: the run has no checkpoint yet (nothing in checkpoints/)`, 2]);
    const broken = await writeRun(join(root, 'broken'), { model: 'vae-mlp', seeds: [1] });
    corrupt(join(broken, 'checkpoints', '1', 'decoder', 'model.json'));
    const seen: string[] = [];
    const bad = await failure(sample({ run: broken, backend: 'wasm' }, { onWarning: (m) => seen.push(m) }));
    expect(bad.message).toBe(`${broken}: none of its 1 checkpoint verifies`);
    expect(seen).toEqual([
      `checkpoint ${join(broken, 'checkpoints', '1')} is corrupt and was skipped: decoder/model.json does not match its sha256 checksum`,
    ]);
  });

  it('names a network missing from a checkpoint, and one of the wrong shape', async () => {
    const dir = await writeRun(join(root, 'wrong'), { model: 'vae-mlp', seeds: [1] });
    // Checkpoints that verify but hold a GAN's generator, while the config says vae-mlp.
    const generator = createPart(modelSpec('dcgan-small'), 'generator', 1);
    const files = await encodePart(generator);
    generator.dispose();
    await writeCheckpoint(dir, 1, files);
    const missing = await failure(sample({ run: dir, backend: 'wasm' }));
    expect(missing.message).toBe(
      `${join(dir, 'checkpoints', '1')}: has no decoder/model.json (a checkpoint of vae-mlp holds encoder and decoder)`,
    );
    expect(missing.exitCode).toBe(2);
    // The generator under the decoder's name: a network of another shape.
    const renamed = Object.fromEntries(Object.entries(files).map(([name, data]) => [name.replace('generator/', 'decoder/'), data]));
    await writeCheckpoint(dir, 1, renamed);
    const shape = await failure(sample({ run: dir, backend: 'wasm' }));
    expect(shape.message).toBe(
      `${join(dir, 'checkpoints', '1', 'decoder', 'model.json')}: decoder takes input [100], but vae-mlp's takes [20]`,
    );
    expect(shape.exitCode).toBe(2);
  });
});
