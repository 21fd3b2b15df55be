import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng, imageGrid, writePng, type RasterImage } from '../../src/data/png.js';
import { tempDir, thrown } from './fixtures.js';

const dir = tempDir();

interface Decoded {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  pixels: Uint8Array;
  chunkTypes: string[];
}

/** A minimal PNG decoder for what encodePng writes: checks each CRC, inflates IDAT, undoes filter 0. */
function decode(png: Uint8Array): Decoded {
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunkTypes: string[] = [];
  const idat: Uint8Array[] = [];
  let header: Uint8Array | undefined;
  for (let at = 8; at < png.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    const crc = view.getUint32(at + 8 + length);
    // Checked against node:zlib's own CRC-32, not just ours.
    expect(crc).toBe(zlib.crc32(png.subarray(at + 4, at + 8 + length)));
    chunkTypes.push(type);
    if (type === 'IHDR') header = data;
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const h = new DataView(header!.buffer, header!.byteOffset, 13);
  const width = h.getUint32(0);
  const height = h.getUint32(4);
  const channels = header![9] === 2 ? 3 : 1;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)]).toBe(0);
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, bitDepth: header![8]!, colorType: header![9]!, pixels, chunkTypes };
}

describe('crc32', () => {
  it('gives the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('encodePng', () => {
  it('encodes grayscale and RGB images that decode to the same pixels', () => {
    for (const channels of [1, 3]) {
      const image: RasterImage = {
        pixels: Uint8Array.from({ length: 5 * 3 * channels }, (_, i) => (i * 37) % 256),
        width: 5,
        height: 3,
        channels,
      };
      const decoded = decode(encodePng(image));
      expect(decoded.chunkTypes).toEqual(['IHDR', 'IDAT', 'IEND']);
      expect([decoded.width, decoded.height, decoded.bitDepth]).toEqual([5, 3, 8]);
      expect(decoded.colorType).toBe(channels === 1 ? 0 : 2);
      expect(Array.from(decoded.pixels)).toEqual(Array.from(image.pixels));
    }
  });

  it('validates its input', () => {
    const ok = { pixels: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    expect(thrown(() => encodePng({ ...ok, channels: 4 }), 'INVALID_VALUE').message).toBe(
      'channels must be 1 (grayscale) or 3 (RGB), got 4',
    );
    expect(thrown(() => encodePng({ ...ok, width: 0 }), 'INVALID_VALUE').message).toBe(
      'width must be a positive integer, got 0',
    );
    expect(thrown(() => encodePng({ ...ok, pixels: new Uint8Array(3) }), 'INVALID_VALUE').message).toBe(
      'pixels must be 4 bytes (2×2×1), got 3',
    );
  });
});

describe('imageGrid / writePng', () => {
  it('lays images out in a padded grid, values clamped', () => {
    // Four 2×2 grayscale images with values 0, 1/3, 2/3, 1; a stray -1 and 2 get clamped.
    const images = Float32Array.from({ length: 16 }, (_, i) => Math.floor(i / 4) / 3);
    images[1] = -1;
    images[15] = 2;
    const grid = imageGrid(images, 4, 2, 2, 1, { cols: 3, pad: 1, padValue: 0.5 });
    // 3 columns, 2 rows: width 3·(2+1)+1 = 10, height 2·(2+1)+1 = 7.
    expect([grid.width, grid.height, grid.channels]).toEqual([10, 7, 1]);
    const at = (x: number, y: number): number => grid.pixels[y * grid.width + x]!;
    expect(at(0, 0)).toBe(128);
    expect([at(1, 1), at(2, 1), at(1, 2), at(2, 2)]).toEqual([0, 0, 0, 0]);
    expect(at(4, 1)).toBe(85);
    expect(at(7, 2)).toBe(170);
    expect([at(1, 4), at(2, 5)]).toEqual([255, 255]);
    expect(at(4, 4)).toBe(128); // the empty sixth cell is padding colour
    const path = join(dir, 'grid.png');
    writePng(path, grid);
    expect(Array.from(decode(readFileSync(path)).pixels)).toEqual(Array.from(grid.pixels));
  });

  it('defaults to a near-square grid with 2-pixel padding, RGB kept', () => {
    const grid = imageGrid(new Float32Array(10 * 3 * 3 * 3).fill(1), 10, 3, 3, 3);
    expect([grid.width, grid.height, grid.channels]).toEqual([4 * 5 + 2, 3 * 5 + 2, 3]);
    expect(grid.pixels.length).toBe(grid.width * grid.height * 3);
  });

  it('validates its arguments', () => {
    const images = new Float32Array(8);
    const cases: [() => unknown, string][] = [
      [() => imageGrid(images, 0, 2, 2, 1), 'n must be a positive integer, got 0'],
      [() => imageGrid(images, 2, 2, 2, 2), 'c must be 1 (grayscale) or 3 (RGB), got 2'],
      [() => imageGrid(images, 3, 2, 2, 1), 'images must be at least 12 values (3×2×2×1), got 8'],
      [() => imageGrid(images, 2, 2, 2, 1, { cols: 0 }), 'cols must be a positive integer, got 0'],
      [() => imageGrid(images, 2, 2, 2, 1, { pad: -1 }), 'pad must be a non-negative integer, got -1'],
      [() => imageGrid(images, 2, 2, 2, 1, { padValue: 2 }), 'padValue must be a number in [0, 1], got 2'],
    ];
    for (const [fn, message] of cases) expect(thrown(fn, 'INVALID_VALUE').message).toBe(message);
  });
});
