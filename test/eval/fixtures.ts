/**
 * Real run directories and datasets for the sample and eval tests, small
 * enough to build in a blink: networks of a registered model with seeded
 * weights written as checkpoints the way the trainer writes them, and a
 * slice of MNIST as a folder of IDX files.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { loadDataset, type Split } from '../../src/data/index.js';
import { createParts, modelSpec, type ModelName } from '../../src/models/index.js';
import { encodePart } from '../../src/models/state.js';
import { writeCheckpoint } from '../../src/run/checkpoint.js';
import { parseConfig } from '../../src/run/config.js';
import { openRunDir } from '../../src/run/run-dir.js';
import { idxBytes } from '../data/fixtures.js';

export interface RunFixture {
  readonly model: ModelName;
  /** One checkpoint per entry, at steps 1, 2, …: the networks drawn from that seed. */
  readonly seeds: readonly number[];
  /** The run's `dataset` setting. */
  readonly dataset?: string;
}

/** Writes `dir` as a run directory: `config.json` and a checkpoint per seed. Returns `dir`. */
export async function writeRun(dir: string, fixture: RunFixture): Promise<string> {
  const config = parseConfig({ model: fixture.model, steps: 10, dataset: fixture.dataset ?? 'mnist', out: dir });
  const runDir = await openRunDir({ model: fixture.model, out: dir });
  try {
    await runDir.writeConfig(config);
    const spec = modelSpec(fixture.model);
    for (const [i, seed] of fixture.seeds.entries()) {
      const parts = Object.values(createParts(spec, seed));
      const files: Record<string, Uint8Array | string> = {};
      for (const part of parts) Object.assign(files, await encodePart(part));
      for (const part of parts) part.dispose();
      await writeCheckpoint(dir, i + 1, files);
    }
  } finally {
    await runDir.close();
  }
  return dir;
}

/** Flips a byte in the middle of a checkpoint file, so its checksum fails. */
export function corrupt(file: string): void {
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(file, bytes);
}

function writeSplit(dir: string, prefix: 'train' | 't10k', split: Split, count: number): void {
  const size = split.height * split.width;
  const images = Uint8Array.from(split.images.subarray(0, count * size));
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idxBytes([count, split.height, split.width], images));
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idxBytes([count], split.labels!.subarray(0, count)));
}

/** The first `train` training and `test` test images of MNIST, as a folder of IDX files. Returns the folder. */
export function miniMnist(dir: string, train: number, test: number): string {
  const mnist = loadDataset('mnist');
  mkdirSync(dir, { recursive: true });
  writeSplit(dir, 'train', mnist.train, train);
  writeSplit(dir, 't10k', mnist.test, test);
  return dir;
}

/** A PNG's size and 8-bit pixels, read back with node:zlib (grayscale, filter 0 rows, as paragen writes). */
export function decodePng(bytes: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => bytes[i] === b)) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      if (data[8] !== 8 || data[9] !== 0) throw new Error('expected 8-bit grayscale');
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== (width + 1) * height) throw new Error(`IDAT holds ${raw.length} bytes for ${width}×${height}`);
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    if (raw[y * (width + 1)] !== 0) throw new Error('expected filter type 0');
    pixels.set(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  }
  return { width, height, pixels };
}
