/**
 * The shape of the code: dependencies point one way (bench/import-graph.ts,
 * `npm run check:imports` prints the graph).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cycles, folderOf, importGraph, layerViolations, runtimeViolations } from '../bench/import-graph.js';

const graph = importGraph(resolve(import.meta.dirname, '..'));

describe('the import graph of src/ and actors/', () => {
  it('has no cycle between folders', () => {
    expect(cycles(graph.folders)).toEqual([]);
  });

  it('has no cycle between files', () => {
    expect(cycles(graph.files)).toEqual([]);
  });

  it('keeps the runtime free of the application: src/actor/ imports nothing from actors/', () => {
    expect(runtimeViolations(graph)).toEqual([]);
  });

  it('points down the layers, from the CLI to the vocabulary', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('sees the imports it checks (static, type-only and dynamic)', () => {
    expect(graph.files.get('src/cli/commands.ts')).toContain('src/cli/commands/train.ts');
    expect(graph.files.get('actors/catalog.ts')).toContain('actors/data-loader.ts');
    expect(folderOf('src/cli/commands/train.ts')).toBe('src/cli');
    expect(folderOf('src/errors.ts')).toBe('src/errors');
    expect(cycles(new Map([['a', new Set(['b'])], ['b', new Set(['a'])], ['c', new Set(['a'])]]))).toEqual([['a', 'b']]);
  });
});

describe('file sizes', () => {
  it('stay readable: none in src/parallel over 300 lines, none in src/ or actors/ over 400', async () => {
    const { readFileSync } = await import('node:fs');
    const root = resolve(import.meta.dirname, '..');
    const long = [...graph.files.keys()].flatMap((file) => {
      const lines = readFileSync(resolve(root, file), 'utf8').split('\n').length;
      const limit = file.startsWith('src/parallel/') ? 300 : 400;
      return lines > limit ? [`${file}: ${lines} lines`] : [];
    });
    expect(long).toEqual([]);
  });
});
