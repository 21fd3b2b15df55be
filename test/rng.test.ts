import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    const sb = Array.from({ length: 8 }, () => b.nextUint32());
    const sc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('continues exactly from a saved state', () => {
    const a = new Rng(7);
    for (let i = 0; i < 5; i++) a.normal();
    const saved = a.state();
    const expected = Array.from({ length: 6 }, () => a.normal());
    const b = new Rng(saved);
    expect(Array.from({ length: 6 }, () => b.normal())).toEqual(expected);
  });

  it('draws uniforms in [0, 1) with the right mean and normals with unit variance', () => {
    const rng = new Rng(1);
    const u = rng.uniforms(new Float32Array(20000));
    const n = rng.normals(new Float32Array(20000));
    const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 1);
    expect(mean(n)).toBeCloseTo(0, 1);
    expect(mean(n.map((v) => v * v))).toBeCloseTo(1, 1);
  });

  it('shuffles into a permutation', () => {
    const xs = new Rng(3).shuffle(Array.from({ length: 100 }, (_, i) => i));
    expect([...xs].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
