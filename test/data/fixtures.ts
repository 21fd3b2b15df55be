/** Builders of small real data files for the data tests, written to fresh temp folders. */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, expect } from 'vitest';
import { ParagenError, type ErrorCode } from '../../src/errors.js';

/** A fresh temp folder, removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'paragen-data-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** IDX bytes: the magic 0x0000TTDD, one big-endian uint32 per size, then `data`. */
export function idxBytes(sizes: number[], data: Uint8Array, type = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * sizes.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = type;
  out[3] = sizes.length;
  sizes.forEach((s, i) => view.setUint32(4 + 4 * i, s, false));
  out.set(data, 4 + 4 * sizes.length);
  return out;
}

/** `count` images of rows×cols where image i's pixels are (i·7 + p) mod 256. */
export function pixelsOf(count: number, rows: number, cols: number): Uint8Array {
  const size = rows * cols;
  const out = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) for (let p = 0; p < size; p++) out[i * size + p] = (i * 7 + p) % 256;
  return out;
}

/** Labels 0..9 repeating. */
export function labelsOf(count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => i % 10);
}

export interface IdxSetOptions {
  train?: number;
  test?: number;
  rows?: number;
  cols?: number;
  testRows?: number;
  gzip?: boolean;
}

/** Writes the four standard IDX files of a small dataset into `dir`; returns `dir`. */
export function writeIdxSet(dir: string, options: IdxSetOptions = {}): string {
  const { train = 20, test = 5, rows = 4, cols = 3, testRows = rows, gzip = false } = options;
  const write = (name: string, bytes: Uint8Array): void =>
    writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  write('train-images-idx3-ubyte', idxBytes([train, rows, cols], pixelsOf(train, rows, cols)));
  write('train-labels-idx1-ubyte', idxBytes([train], labelsOf(train)));
  write('t10k-images-idx3-ubyte', idxBytes([test, testRows, cols], pixelsOf(test, testRows, cols)));
  write('t10k-labels-idx1-ubyte', idxBytes([test], labelsOf(test)));
  return dir;
}

/** A `.npy` file with a hand-written header dict, for headers our writer never makes. */
export function npyWithHeader(dict: string, data: Uint8Array, version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0], 0);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(data, total);
  return out;
}

/** The ParagenError `fn` throws, checked to carry `code`, exit `exitCode` and one line. */
export function thrown(fn: () => unknown, code: ErrorCode = 'BAD_FILE', exitCode = 2): ParagenError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ParagenError);
    const e = error as ParagenError;
    expect(e.code).toBe(code);
    expect(e.exitCode).toBe(exitCode);
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('expected a throw');
}
