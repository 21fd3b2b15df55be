import { describe, expect, it } from 'vitest';
import { compiledPath, workerEntry } from '../../src/actor/entry.js';
import { ParagenError } from '../../src/errors.js';

describe('workerEntry', () => {
  it('maps a module under src/ to its compiled file under dist/src/', () => {
    const seen: string[] = [];
    const file = workerEntry('file:///repo/src/actor/thread-host.ts', './thread-entry.js', (p) => (seen.push(p), true));
    expect(file).toBe('/repo/dist/src/actor/thread-entry.js');
    expect(seen).toEqual([file]);
  });

  it('resolves relative paths that leave the folder', () => {
    expect(workerEntry('file:///repo/src/actor/catalog.ts', '../../actors/generator.js', () => true)).toBe('/repo/dist/actors/generator.js');
  });

  it('keeps a caller already in dist/ next to its sibling', () => {
    expect(workerEntry('file:///repo/dist/src/actor/thread-host.js', './thread-entry.js', () => true)).toBe(
      '/repo/dist/src/actor/thread-entry.js',
    );
  });

  it('maps every source root, taking the innermost one', () => {
    expect(compiledPath('/home/me/src/paragen/actors/generator.js')).toBe(
      '/home/me/src/paragen/dist/actors/generator.js',
    );
    expect(compiledPath('/home/me/src/paragen/bench/actor-overhead.ts')).toBe('/home/me/src/paragen/dist/bench/actor-overhead.js');
    expect(compiledPath('/home/me/src/paragen/dist/src/actor/x.js')).toBe('/home/me/src/paragen/dist/src/actor/x.js');
  });

  it('maps exactly under the package root, whatever the folder names (src/bench/ holds two)', () => {
    expect(compiledPath('/x/src/bench/plain/y.ts', '/x')).toBe('/x/dist/src/bench/plain/y.js');
    expect(compiledPath('/x/dist/src/bench/plain/y.js', '/x')).toBe('/x/dist/src/bench/plain/y.js');
  });

  it('fails with the fix when the compiled file is missing', () => {
    const call = () => workerEntry('file:///repo/src/actor/thread-host.ts', './thread-entry.js', () => false);
    expect(call).toThrow(ParagenError);
    expect(call).toThrow('worker entry /repo/dist/src/actor/thread-entry.js is missing: run npm run build');
  });

  it('finds the real thread entry of this checkout (built by npm test)', () => {
    expect(workerEntry(new URL('../../src/actor/thread-host.ts', import.meta.url).href, './thread-entry.js')).toMatch(
      /\/dist\/src\/actor\/thread-entry\.js$/,
    );
  });
});
