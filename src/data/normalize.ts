/**
 * Pixel ranges. Stored images come as uint8 (0..255) or float32; models want
 * [-1, 1] (a tanh generator's output range, so the discriminator sees real and
 * fake images on one scale) or [0, 1] (the probabilities a Bernoulli decoder
 * models). Every conversion is one affine map `y = scale·x + offset`.
 */

import { errors } from '../errors.js';

/** The range a model wants its images in: `'tanh'` → [-1, 1], `'unit'` → [0, 1]. */
export type PixelRange = 'tanh' | 'unit';

/** The values a stored image array spans, as `[low, high]`. */
export type ValueRange = readonly [number, number];

/** Where uint8 images live. */
export const UINT8_RANGE: ValueRange = [0, 255];

/** The values each pixel range spans. */
export const PIXEL_RANGES: Readonly<Record<PixelRange, ValueRange>> = { tanh: [-1, 1], unit: [0, 1] };

/** Checks that `range` names a pixel range. */
export function checkPixelRange(range: string): PixelRange {
  if (range === 'tanh' || range === 'unit') return range;
  throw errors.invalidValue('range', "'tanh' or 'unit'", range);
}

/**
 * The range float32 images are stored in, decided once at load from their
 * minimum and maximum: [0, 1] if they fit it (the usual convention), else
 * [-1, 1] (already tanh-scaled), else [0, 255] (raw pixel values saved as
 * float). Anything else — or a NaN or Inf — is an error naming the file,
 * since guessing a scale would train on silently wrong data.
 */
export function floatValueRange(data: Float32Array, file: string): ValueRange {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    // NaN fails every comparison, so test it apart; one branch per pixel is cheap next to the read.
    if (v !== v) throw errors.badFile(file, `value ${i} is NaN`);
  }
  if (min === -Infinity || max === Infinity) throw errors.badFile(file, 'values include Inf');
  if (data.length === 0 || (min >= 0 && max <= 1)) return [0, 1];
  if (min >= -1 && max <= 1) return [-1, 1];
  if (min >= 0 && max <= 255) return UINT8_RANGE;
  throw errors.badFile(
    file,
    `float32 values span [${min}, ${max}]; expected images in [0, 1], [-1, 1] or [0, 255]`,
  );
}

/** The `scale` and `offset` of the affine map from `from` to `to`. */
export function affine(from: ValueRange, to: ValueRange): { scale: number; offset: number } {
  const scale = (to[1] - to[0]) / (from[1] - from[0]);
  return { scale, offset: to[0] - from[0] * scale };
}

/**
 * Converts images stored in `source` (default: [0, 255] for uint8, [0, 1] for
 * float32) into a new (or the given) Float32Array in `range`.
 */
export function normalize(
  images: Uint8Array | Float32Array,
  range: PixelRange,
  source: ValueRange = images instanceof Uint8Array ? UINT8_RANGE : [0, 1],
  out: Float32Array = new Float32Array(images.length),
): Float32Array {
  if (out.length < images.length) {
    throw errors.invalidValue('out', `a Float32Array of at least ${images.length} elements`, out.length);
  }
  const { scale, offset } = affine(source, PIXEL_RANGES[checkPixelRange(range)]);
  for (let i = 0; i < images.length; i++) out[i] = images[i]! * scale + offset;
  return out;
}

/**
 * Maps model outputs in `range` back to [0, 1] — what the PNG writer and
 * `paragen sample --out x.npy` want — clamping strays (float error, an
 * unbounded decoder) and NaN to the range so a bad sample cannot break a file.
 */
export function toUnit(images: Float32Array, range: PixelRange): Float32Array {
  const { scale, offset } = affine(PIXEL_RANGES[checkPixelRange(range)], PIXEL_RANGES.unit);
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const v = images[i]! * scale + offset;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v === v ? v : 0;
  }
  return out;
}
