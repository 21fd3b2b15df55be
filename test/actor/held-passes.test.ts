import { describe, expect, it } from 'vitest';
import { HeldPasses } from '../../actors/passes.js';

interface FakePass {
  step: number;
  name: string;
}

function setUp() {
  const freed: string[] = [];
  const passes = new HeldPasses<FakePass>('encoder', (p) => freed.push(p.name));
  return { freed, passes };
}

describe('HeldPasses', () => {
  it('hands each chunk’s pass to its backward once, then frees it', () => {
    const { freed, passes } = setUp();
    passes.hold(0, { step: 3, name: 'a' });
    passes.hold(1, { step: 3, name: 'b' });
    expect(passes.consume(1, 3, (p) => p.name)).toBe('b');
    expect(freed).toEqual(['b']);
    expect(() => passes.consume(1, 3, (p) => p.name)).toThrow(/encoder: backward of chunk 1 of step 3 without its forward pass/);
    expect(passes.consume(0, 3, (p) => p.name)).toBe('a');
    expect(freed).toEqual(['b', 'a']);
  });

  it('refuses a pass of another step and keeps it for its own', () => {
    const { freed, passes } = setUp();
    passes.hold(0, { step: 4, name: 'a' });
    expect(() => passes.consume(0, 5, () => 0)).toThrow(/chunk 0 of step 5/);
    expect(freed).toEqual([]);
    expect(passes.consume(0, 4, (p) => p.step)).toBe(4);
  });

  it('frees the pass when its backward throws, and what a new pass or clear replaces', () => {
    const { freed, passes } = setUp();
    passes.hold(0, { step: 1, name: 'a' });
    expect(() =>
      passes.consume(0, 1, () => {
        throw new Error('backward failed');
      }),
    ).toThrow('backward failed');
    expect(freed).toEqual(['a']);
    passes.hold(0, { step: 2, name: 'b' });
    passes.hold(0, { step: 2, name: 'c' });
    passes.hold(1, { step: 2, name: 'd' });
    expect(freed).toEqual(['a', 'b']);
    passes.clear();
    expect(freed.sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});
