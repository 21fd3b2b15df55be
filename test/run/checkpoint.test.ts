import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParagenError } from '../../src/errors.js';
import {
  listCheckpoints,
  loadLatestCheckpoint,
  writeCheckpoint,
  type CheckpointFiles,
} from '../../src/run/checkpoint.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const weights = (step: number) => Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + step) & 0xff);
const filesAt = (step: number): CheckpointFiles => ({
  'generator/model.json': JSON.stringify({ format: 'layers-model', step }),
  'generator/weights.bin': weights(step),
  'generator/optimizer.json': '{"adam":true}',
  'state.json': JSON.stringify({ step, rng: [1, 2, 3, 4], cursor: step * 64 }),
});
const ckpt = (step: number) => join(dir, 'checkpoints', String(step));

describe('writeCheckpoint', () => {
  it('writes the files and a manifest with a sha256 per file, leaving no temporary folder', async () => {
    const written = await writeCheckpoint(dir, 100, filesAt(100));
    expect(written).toEqual({ step: 100, path: ckpt(100), bytes: written.bytes, removed: [] });
    expect(await readdir(join(dir, 'checkpoints'))).toEqual(['100']);
    const manifest = JSON.parse(await readFile(join(ckpt(100), 'manifest.json'), 'utf8'));
    expect(manifest.format).toBe('paragen-checkpoint');
    expect(manifest.step).toBe(100);
    expect(manifest.files['generator/weights.bin']).toEqual({
      bytes: 256,
      sha256: createHash('sha256').update(weights(100)).digest('hex'),
    });
    expect(Object.keys(manifest.files).sort()).toEqual([
      'generator/model.json',
      'generator/optimizer.json',
      'generator/weights.bin',
      'state.json',
    ]);
    expect(new Uint8Array(await readFile(join(ckpt(100), 'generator', 'weights.bin')))).toEqual(weights(100));
  });

  it('keeps the newest K checkpoints', async () => {
    const removed: number[][] = [];
    for (const step of [100, 200, 300, 400, 1000]) removed.push([...(await writeCheckpoint(dir, step, filesAt(step), { keep: 2 })).removed]);
    expect(await listCheckpoints(dir)).toEqual([400, 1000]);
    expect(removed).toEqual([[], [], [100], [200], [300]]);
  });

  it('replaces a checkpoint of the same step', async () => {
    await writeCheckpoint(dir, 100, filesAt(100));
    await writeCheckpoint(dir, 100, { 'state.json': 'new' });
    const { checkpoint } = await loadLatestCheckpoint(dir);
    expect(checkpoint?.text('state.json')).toBe('new');
    expect([...(checkpoint?.files.keys() ?? [])]).toEqual(['state.json']);
    expect(await readdir(join(dir, 'checkpoints'))).toEqual(['100']);
  });

  it('accepts a Map of files', async () => {
    await writeCheckpoint(dir, 5, new Map([['a/b.bin', new Uint8Array([1, 2, 3])]]));
    const { checkpoint } = await loadLatestCheckpoint(dir);
    expect(checkpoint?.files.get('a/b.bin')).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses file names that would escape the checkpoint, and bad steps', async () => {
    const error = await writeCheckpoint(dir, 1, { '../x': 'a', '/abs': 'b', 'manifest.json': 'c', 'ok.json': 'd' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ParagenError);
    expect((error as ParagenError).message).toBe(
      [
        "checkpoint file name '../x' is not allowed: it must be a relative path inside the checkpoint",
        "checkpoint file name '/abs' is not allowed: it must be a relative path inside the checkpoint",
        "checkpoint file name 'manifest.json' is not allowed: manifest.json is reserved",
      ].join('\n'),
    );
    await expect(writeCheckpoint(dir, -1, {})).rejects.toThrow('checkpoint step must be a non-negative integer, got -1');
    await expect(writeCheckpoint(dir, 1, {}, { keep: 0 })).rejects.toThrow(
      'checkpoint keep must be a positive integer, got 0',
    );
    expect(await listCheckpoints(dir)).toEqual([]);
  });
});

describe('loadLatestCheckpoint', () => {
  beforeEach(async () => {
    for (const step of [100, 200, 300]) await writeCheckpoint(dir, step, filesAt(step));
  });

  it('loads the newest checkpoint, verified', async () => {
    const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
    expect(warnings).toEqual([]);
    expect(checkpoint?.step).toBe(300);
    expect(checkpoint?.path).toBe(ckpt(300));
    expect(JSON.parse(checkpoint!.text('state.json'))).toEqual({ step: 300, rng: [1, 2, 3, 4], cursor: 19200 });
    expect(checkpoint?.files.get('generator/weights.bin')).toEqual(weights(300));
    expect(() => checkpoint!.text('nope.json')).toThrow(`checkpoint ${ckpt(300)} has no file 'nope.json'`);
  });

  it('reports a truncated file and falls back to the previous checkpoint', async () => {
    await truncate(join(ckpt(300), 'generator', 'weights.bin'), 100);
    const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
    expect(checkpoint?.step).toBe(200);
    expect(warnings).toEqual([
      {
        kind: 'corrupt',
        path: ckpt(300),
        message: `checkpoint ${ckpt(300)} is corrupt and was skipped: generator/weights.bin has 100 bytes, the manifest says 256`,
      },
    ]);
  });

  it('reports a flipped byte', async () => {
    const path = join(ckpt(300), 'generator', 'weights.bin');
    const data = await readFile(path);
    data[17] ^= 0x01;
    await writeFile(path, data);
    const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
    expect(checkpoint?.step).toBe(200);
    expect(warnings.map((w) => w.message)).toEqual([
      `checkpoint ${ckpt(300)} is corrupt and was skipped: generator/weights.bin does not match its sha256 checksum`,
    ]);
  });

  it('reports a deleted manifest, a deleted file and a garbled manifest, each one', async () => {
    await unlink(join(ckpt(300), 'manifest.json'));
    await unlink(join(ckpt(200), 'state.json'));
    await writeFile(join(ckpt(100), 'manifest.json'), '{"format": "paragen-chec');
    const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
    expect(checkpoint).toBeUndefined();
    expect(warnings.map((w) => w.message)).toEqual([
      `checkpoint ${ckpt(300)} is corrupt and was skipped: manifest.json is missing`,
      `checkpoint ${ckpt(200)} is corrupt and was skipped: state.json is missing`,
      `checkpoint ${ckpt(100)} is corrupt and was skipped: manifest.json is not valid JSON`,
    ]);
  });

  it('reports a manifest of another step or of another format', async () => {
    const manifest = JSON.parse(await readFile(join(ckpt(200), 'manifest.json'), 'utf8'));
    await writeFile(join(ckpt(300), 'manifest.json'), JSON.stringify(manifest));
    await writeFile(join(ckpt(200), 'manifest.json'), JSON.stringify({ ...manifest, format: 'other' }));
    const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
    expect(checkpoint?.step).toBe(100);
    expect(warnings.map((w) => w.message)).toEqual([
      `checkpoint ${ckpt(300)} is corrupt and was skipped: manifest.json is for step 200`,
      `checkpoint ${ckpt(200)} is corrupt and was skipped: manifest.json is not a paragen checkpoint manifest`,
    ]);
  });

  it('ignores and removes the half-written temporary folder of a crashed write', async () => {
    const leftover = join(dir, 'checkpoints', '.tmp-400-999-1');
    await mkdir(join(leftover, 'generator'), { recursive: true });
    await writeFile(join(leftover, 'generator', 'weights.bin'), weights(400).subarray(0, 10));
    const { checkpoint, warnings } = await loadLatestCheckpoint(dir);
    expect(checkpoint?.step).toBe(300);
    expect(warnings).toEqual([
      {
        kind: 'leftover',
        path: leftover,
        message: `removed ${leftover}, left by a checkpoint write that did not finish`,
      },
    ]);
    expect(await readdir(join(dir, 'checkpoints'))).toEqual(['100', '200', '300']);
  });

  it('finds nothing in a run without checkpoints', async () => {
    expect(await loadLatestCheckpoint(join(dir, 'elsewhere'))).toEqual({ checkpoint: undefined, warnings: [] });
  });
});
