/**
 * What a sampling or reconstruction request asks for, checked field by field:
 * every problem is an `errors.invalidValue` naming the field (`n must be a
 * positive integer ≤ 1024, got -1`), which the server answers with a 400.
 */
import { decodeNpy } from '../data/npy.js';
import { errors, ParagenError } from '../errors.js';
import type { ModelSpec } from '../models/index.js';
import { suggest } from '../run/suggest.js';

export const FORMATS = ['png', 'npy', 'json'] as const;
export type SampleFormat = (typeof FORMATS)[number];

export interface SampleRequest {
  readonly n: number;
  readonly seed: number;
  readonly format: SampleFormat;
  /** Latent vectors (n × dim) instead of the seed's noise. */
  readonly z?: Float32Array;
}

const SAMPLE_KEYS = ['n', 'seed', 'format', 'z'];
const MAX_SEED = 0xffffffff;

/** A query-string value as the number it spells, so messages quote `-1`, not `'-1'`. */
function numeric(value: unknown): unknown {
  return typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value.trim()) ? Number(value) : value;
}

function unknownKeys(body: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(body)) if (!known.includes(key)) throw errors.unknownKey(key, suggest(key, known));
}

/** Latent vectors: an array of `n` arrays of `dim` finite numbers. */
function latent(value: unknown, dim: number, maxN: number): Float32Array {
  const expected = `an array of 1 to ${maxN} arrays of ${dim} finite numbers`;
  if (!Array.isArray(value) || value.length < 1 || value.length > maxN) throw invalid('z', expected, value);
  const out = new Float32Array(value.length * dim);
  value.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== dim || !row.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw invalid(`z[${i}]`, `an array of ${dim} finite numbers`, row);
    }
    out.set(row as number[], i * dim);
  });
  return out;
}

/** `errors.invalidValue`, an array shown by its shape (never the whole array). */
function invalid(field: string, expected: string, got: unknown): ParagenError {
  const shape = shapeOf(got);
  return shape === undefined
    ? errors.invalidValue(field, expected, got)
    : new ParagenError('INVALID_VALUE', `${field} must be ${expected}, got ${shape}`, 2);
}

/** `an array of shape 3×5` for an array; undefined for anything else. */
function shapeOf(value: unknown): string | undefined {
  if (!Array.isArray(value)) return undefined;
  const shape: number[] = [];
  let v: unknown = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return `an array of shape ${shape.join('×')}`;
}

/**
 * A sampling request from a query string (GET, every value a string) or a
 * JSON body (POST). `seed` defaults to a fresh random one, sent back so the
 * images can be asked for again.
 */
export function parseSampleRequest(
  input: unknown,
  spec: ModelSpec,
  maxN: number,
  randomSeed: () => number,
): SampleRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('body', 'a JSON object such as {"n": 16, "seed": 3}', input);
  }
  const body = input as Record<string, unknown>;
  unknownKeys(body, SAMPLE_KEYS);
  const dim = spec.kind === 'gan' ? spec.noiseDim : spec.latentDim;
  const z = body['z'] === undefined ? undefined : latent(body['z'], dim, maxN);
  const n = body['n'] === undefined ? (z ? z.length / dim : 16) : numeric(body['n']);
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > maxN) {
    throw errors.invalidValue('n', `a positive integer ≤ ${maxN}`, n);
  }
  if (z && z.length !== n * dim) throw errors.invalidValue('n', `${z.length / dim}, the number of rows of z`, n);
  const seed = body['seed'] === undefined ? randomSeed() : numeric(body['seed']);
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw errors.invalidValue('seed', `an integer in [0, ${MAX_SEED}]`, seed);
  }
  const format = body['format'] ?? 'png';
  if (typeof format !== 'string' || !(FORMATS as readonly string[]).includes(format)) {
    throw errors.invalidValue('format', `one of ${FORMATS.join(', ')}`, format);
  }
  return { n, seed, format: format as SampleFormat, ...(z ? { z } : {}) };
}

/**
 * The images of a reconstruction request: JSON `{"images": [[[…28]…28]…]}` or
 * an .npy body, k×28×28 (or k×28×28×1) in [0, 1], 1 ≤ k ≤ maxN.
 */
export function parseImages(body: unknown, spec: ModelSpec, maxN: number): { images: Float32Array; count: number } {
  const [h, w] = spec.imageShape;
  const expected = `k×${h}×${w} numbers in [0, 1] with 1 ≤ k ≤ ${maxN}`;
  if (body instanceof Uint8Array) {
    const array = decodeNpy({ bytes: body, gzipped: false }, 'body');
    const shape = array.shape;
    const ok = (shape.length === 3 || (shape.length === 4 && shape[3] === 1)) && shape[1] === h && shape[2] === w;
    const count = shape[0] ?? 0;
    if (!ok || count < 1 || count > maxN) throw new ParagenError('INVALID_VALUE', `images must be ${expected}, got an array of shape ${shape.join('×')}`, 2);
    const data = array.dtype === 'uint8' ? Float32Array.from(array.data, (v) => v / 255) : array.data;
    checkRange(data);
    return { images: data, count };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body', 'a JSON object {"images": [...]} or an .npy file', body);
  }
  const record = body as Record<string, unknown>;
  unknownKeys(record, ['images']);
  const images = record['images'];
  if (!Array.isArray(images) || images.length < 1 || images.length > maxN) throw invalid('images', expected, images);
  const out = new Float32Array(images.length * h * w);
  images.forEach((image: unknown, i) => {
    const rows = Array.isArray(image) && image.length === h ? (image as unknown[]) : undefined;
    if (!rows || !rows.every((r) => Array.isArray(r) && r.length === w && r.every((x) => typeof x === 'number'))) {
      throw invalid(`images[${i}]`, `${h} arrays of ${w} numbers`, image);
    }
    rows.forEach((row, y) => out.set(row as number[], (i * h + y) * w));
  });
  checkRange(out);
  return { images: out, count: images.length };
}

function checkRange(data: Float32Array): void {
  const bad = data.findIndex((v) => !(v >= 0 && v <= 1));
  if (bad >= 0) throw errors.invalidValue(`images (value ${bad})`, 'a number in [0, 1]', data[bad]);
}
