/**
 * A PNG encoder with no dependencies (8-bit grayscale or RGB, zlib from
 * node:zlib) and a grid layout for sample sheets: `samples/<step>.png` and
 * `paragen sample --out x.png`. See https://www.w3.org/TR/png/.
 */

import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { errors } from '../errors.js';

/** An 8-bit image, rows top to bottom, `channels` bytes per pixel. */
export interface RasterImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** 1 (grayscale) or 3 (RGB). */
  readonly channels: number;
}

/** Options of `imageGrid`. */
export interface GridOptions {
  /** Images per row; default ⌈√n⌉, so the grid is near square. */
  readonly cols?: number;
  /** Pixels between and around images; default 2. */
  readonly pad?: number;
  /**
   * Colour of the padding in [0, 1]; default 0.5, a mid grey that separates
   * tiles whether their background is black (MNIST) or white.
   */
  readonly padValue?: number;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOR_TYPES: ReadonlyMap<number, number> = new Map([
  [1, 0], // grayscale
  [3, 2], // truecolour
]);

/** CRC-32 (ISO 3309, as PNG and zlib use it), table-driven. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encodes `image` as PNG bytes. */
export function encodePng(image: RasterImage): Uint8Array {
  const { pixels, width, height, channels } = image;
  const colorType = COLOR_TYPES.get(channels);
  if (colorType === undefined) throw errors.invalidValue('channels', '1 (grayscale) or 3 (RGB)', channels);
  for (const [field, value] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) {
      throw errors.invalidValue(field, 'a positive integer', value);
    }
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw errors.invalidValue('pixels', `${stride * height} bytes (${width}×${height}×${channels})`, pixels.length);
  }
  // Each scanline starts with its filter type; 0 (None) lets deflate do the work, and
  // sample grids are small enough that smarter filters would not matter.
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = colorType;
  // header[10..12]: compression 0 (deflate), filter method 0, no interlace.
  const chunks = [chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(SIGNATURE.length + chunks.reduce((n, c) => n + c.length, 0));
  out.set(SIGNATURE, 0);
  let offset = SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Writes `image` to `path` as a PNG. */
export function writePng(path: string, image: RasterImage): void {
  writeFileSync(path, encodePng(image));
}

/**
 * Lays out `n` images (NHWC, values in [0, 1]; outside values are clamped and
 * NaN shows as 0) as a grid: `cols` per row, `pad` pixels between and around.
 */
export function imageGrid(
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  options: GridOptions = {},
): RasterImage {
  for (const [field, value] of [['n', n], ['h', h], ['w', w]] as const) {
    if (!Number.isInteger(value) || value < 1) throw errors.invalidValue(field, 'a positive integer', value);
  }
  if (!COLOR_TYPES.has(c)) throw errors.invalidValue('c', '1 (grayscale) or 3 (RGB)', c);
  if (images.length < n * h * w * c) {
    throw errors.invalidValue('images', `at least ${n * h * w * c} values (${n}×${h}×${w}×${c})`, images.length);
  }
  const cols = options.cols ?? Math.ceil(Math.sqrt(n));
  const pad = options.pad ?? 2;
  const padValue = options.padValue ?? 0.5;
  if (!Number.isInteger(cols) || cols < 1) throw errors.invalidValue('cols', 'a positive integer', cols);
  if (!Number.isInteger(pad) || pad < 0) throw errors.invalidValue('pad', 'a non-negative integer', pad);
  if (!(padValue >= 0 && padValue <= 1)) throw errors.invalidValue('padValue', 'a number in [0, 1]', padValue);
  const rows = Math.ceil(n / cols);
  const width = cols * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const pixels = new Uint8Array(width * height * c).fill(toByte(padValue));
  const rowBytes = w * c;
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (w + pad);
    const y0 = pad + Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      const from = (i * h + y) * rowBytes;
      const to = ((y0 + y) * width + x0) * c;
      for (let k = 0; k < rowBytes; k++) pixels[to + k] = toByte(images[from + k]!);
    }
  }
  return { pixels, width, height, channels: c };
}

function toByte(v: number): number {
  // `v > 0` is false for NaN, so NaN lands on 0 with the negatives.
  return v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  // The CRC covers the type and the data, not the length.
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
