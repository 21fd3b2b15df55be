import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { findIdxFile, readIdxImages, readIdxLabels } from '../../src/data/idx.js';
import { idxBytes, labelsOf, pixelsOf, tempDir, thrown } from './fixtures.js';

const dir = tempDir();
let serial = 0;

/** Writes `bytes` to a fresh file and returns its path. */
function file(bytes: Uint8Array, name = `f${serial++}`): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('readIdxImages / readIdxLabels', () => {
  it('reads plain images and labels', () => {
    const pixels = pixelsOf(3, 4, 5);
    const images = readIdxImages(file(idxBytes([3, 4, 5], pixels)));
    expect([images.count, images.rows, images.cols]).toEqual([3, 4, 5]);
    expect(Array.from(images.pixels)).toEqual(Array.from(pixels));
    // A plain Uint8Array, not a Buffer, so `slice()` copies as it does on any typed array.
    expect(Buffer.isBuffer(images.pixels)).toBe(false);
    const labels = readIdxLabels(file(idxBytes([3], labelsOf(3))));
    expect(labels.count).toBe(3);
    expect(Array.from(labels.labels)).toEqual([0, 1, 2]);
  });

  it('reads gzipped files, detected by content whatever the name', () => {
    const pixels = pixelsOf(2, 3, 3);
    const bytes = gzipSync(idxBytes([2, 3, 3], pixels));
    for (const name of ['gz-named.gz', 'gz-unnamed']) {
      const images = readIdxImages(file(bytes, name));
      expect(images.count).toBe(2);
      expect(Array.from(images.pixels)).toEqual(Array.from(pixels));
    }
    expect(Array.from(readIdxLabels(file(gzipSync(idxBytes([2], labelsOf(2))))).labels)).toEqual([0, 1]);
  });

  it('rejects a wrong magic number, saying what it found and expected', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0);
    const path = file(png);
    expect(thrown(() => readIdxImages(path)).message).toBe(
      `${path}: wrong magic number 0x89504e47, expected 0x00000803 (IDX uint8 images); not an IDX file`,
    );
  });

  it('rejects an unsupported type code', () => {
    const path = file(idxBytes([1, 1, 1], new Uint8Array(4), 0x0d));
    expect(thrown(() => readIdxImages(path)).message).toBe(
      `${path}: unsupported IDX type code 0x0d (float32) in magic number 0x00000d03; only 0x08 (uint8) is supported`,
    );
  });

  it('rejects a wrong number of dimensions (a labels file given as images, and the reverse)', () => {
    const labels = file(idxBytes([2], labelsOf(2)));
    expect(thrown(() => readIdxImages(labels)).message).toBe(
      `${labels}: wrong number of dimensions: magic number 0x00000801 says 1, expected 3 (0x00000803, IDX uint8 images)`,
    );
    const images = file(idxBytes([1, 2, 2], pixelsOf(1, 2, 2)));
    expect(thrown(() => readIdxLabels(images)).message).toBe(
      `${images}: wrong number of dimensions: magic number 0x00000803 says 3, expected 1 (0x00000801, IDX uint8 labels)`,
    );
  });

  it('rejects a truncated file with expected and found byte counts', () => {
    const full = idxBytes([3, 4, 5], pixelsOf(3, 4, 5));
    const path = file(full.subarray(0, 50));
    expect(thrown(() => readIdxImages(path)).message).toBe(`${path}: truncated: expected 76 bytes, found 50`);
    const gz = file(gzipSync(full.subarray(0, 50)));
    expect(thrown(() => readIdxImages(gz)).message).toBe(
      `${gz}: truncated: expected 76 bytes after decompression, found 50`,
    );
  });

  it('rejects a truncated header', () => {
    const tiny = file(Uint8Array.of(0, 0));
    expect(thrown(() => readIdxImages(tiny)).message).toBe(
      `${tiny}: truncated header: expected at least 16 bytes, found 2`,
    );
    const cut = file(idxBytes([3, 4, 5], new Uint8Array(0)).subarray(0, 10));
    expect(thrown(() => readIdxImages(cut)).message).toBe(
      `${cut}: truncated header: expected at least 16 bytes, found 10`,
    );
  });

  it('rejects bytes after the data the header describes', () => {
    const path = file(idxBytes([2], Uint8Array.of(1, 2, 3)));
    expect(thrown(() => readIdxLabels(path)).message).toBe(
      `${path}: 1 unexpected bytes after the 10 that the header describes`,
    );
  });

  it('rejects images without pixels', () => {
    const path = file(idxBytes([2, 0, 28], new Uint8Array(0)));
    expect(thrown(() => readIdxImages(path)).message).toBe(`${path}: image size 0×28 has no pixels`);
  });

  it('wraps a corrupt gzip stream into one line', () => {
    const gz = gzipSync(idxBytes([2], labelsOf(2)));
    const path = file(gz.subarray(0, gz.length - 6));
    expect(thrown(() => readIdxLabels(path)).message).toBe(`${path}: corrupt gzip data (unexpected end of file)`);
  });

  it('wraps read errors: a missing file, a folder', () => {
    const missing = join(dir, 'nope');
    expect(thrown(() => readIdxImages(missing)).message).toBe(`${missing}: no such file`);
    expect(thrown(() => readIdxImages(dir)).message).toBe(`${dir}: is a folder, not a file`);
  });

  it('finds a file as named or with .gz, preferring the plain one', () => {
    file(new Uint8Array(1), 'both');
    file(new Uint8Array(1), 'both.gz');
    file(new Uint8Array(1), 'only.gz');
    expect(findIdxFile(join(dir, 'both'))).toBe(join(dir, 'both'));
    expect(findIdxFile(join(dir, 'only'))).toBe(join(dir, 'only.gz'));
    expect(findIdxFile(join(dir, 'neither'))).toBeUndefined();
  });
});
