import { describe, expect, it } from 'vitest';
import { affine, checkPixelRange, floatValueRange, normalize, toUnit } from '../../src/data/normalize.js';
import { thrown } from './fixtures.js';

const bytes = Uint8Array.of(0, 51, 127, 255);

describe('normalize', () => {
  it("maps uint8 to [-1, 1] for 'tanh' and [0, 1] for 'unit'", () => {
    const tanh = normalize(bytes, 'tanh');
    expect(tanh[0]).toBe(-1);
    expect(tanh[3]).toBe(1);
    expect(tanh[1]).toBeCloseTo(51 / 127.5 - 1, 6);
    const unit = normalize(bytes, 'unit');
    expect(Array.from(unit)).toEqual(Array.from(Float32Array.from(bytes, (b) => b / 255)));
  });

  it('maps float32 from its stored range', () => {
    const unitImages = Float32Array.of(0, 0.25, 1);
    expect(Array.from(normalize(unitImages, 'tanh'))).toEqual([-1, -0.5, 1]);
    expect(Array.from(normalize(unitImages, 'unit'))).toEqual([0, 0.25, 1]);
    expect(Array.from(normalize(Float32Array.of(-1, 0, 1), 'unit', [-1, 1]))).toEqual([0, 0.5, 1]);
    expect(Array.from(normalize(Float32Array.of(0, 255), 'tanh', [0, 255]))).toEqual([-1, 1]);
  });

  it('writes into a given buffer and rejects one too small', () => {
    const out = new Float32Array(5).fill(9);
    expect(normalize(bytes, 'unit', undefined, out)).toBe(out);
    expect(out[4]).toBe(9);
    expect(thrown(() => normalize(bytes, 'unit', undefined, new Float32Array(3)), 'INVALID_VALUE').message).toBe(
      'out must be a Float32Array of at least 4 elements, got 3',
    );
  });

  it('rejects an unknown range', () => {
    expect(thrown(() => checkPixelRange('sigmoid'), 'INVALID_VALUE').message).toBe(
      "range must be 'tanh' or 'unit', got 'sigmoid'",
    );
  });

  it('maps model outputs back to [0, 1], clamped, NaN to 0', () => {
    expect(Array.from(toUnit(Float32Array.of(-1, 0, 1, 1.5, -2, NaN), 'tanh'))).toEqual([0, 0.5, 1, 1, 0, 0]);
    expect(Array.from(toUnit(Float32Array.of(0.25, 2), 'unit'))).toEqual([0.25, 1]);
  });

  it('picks the float range from min and max', () => {
    expect(floatValueRange(Float32Array.of(0, 1), 'f')).toEqual([0, 1]);
    expect(floatValueRange(Float32Array.of(-0.5, 1), 'f')).toEqual([-1, 1]);
    expect(floatValueRange(Float32Array.of(0, 2), 'f')).toEqual([0, 255]);
    expect(thrown(() => floatValueRange(Float32Array.of(-2, 0), 'f')).message).toBe(
      'f: float32 values span [-2, 0]; expected images in [0, 1], [-1, 1] or [0, 255]',
    );
  });

  it('composes affine maps exactly at the ends', () => {
    const { scale, offset } = affine([0, 255], [-1, 1]);
    expect([0 * scale + offset, 255 * scale + offset]).toEqual([-1, 1]);
  });
});
