/**
 * What a run leaves for looking at it: a wall-clock `time` on every
 * metrics.jsonl line, and samples/losses.svg written when the run ends.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOSS_CHART, lossChartSvg, lossRecords, writeLossChart } from '../../src/run/loss-chart.js';
import { train } from '../../src/run/trainer.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'paragen-loss-chart-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `data-loss` and `data-points` of each polyline. */
function lines(svg: string): [string, number][] {
  return [...svg.matchAll(/<polyline class="loss" data-loss="([^"]*)" data-points="(\d+)"/g)].map((m) => [m[1]!, Number(m[2])]);
}

describe('the loss chart', () => {
  it('reads the records with a step and losses, passing over other and half-written lines', () => {
    const text = [
      '{"step":1,"losses":{"d":1.5,"g":0.7}}',
      '{"event":"note"}',
      '{"step":2,"losses":{"d":1.2,"g":0.9}}',
      '{"step":3,"los',
    ].join('\n');
    expect(lossRecords(text)).toEqual([
      { step: 1, losses: { d: 1.5, g: 0.7 } },
      { step: 2, losses: { d: 1.2, g: 0.9 } },
    ]);
  });

  it('draws a line per loss with a point per finite value, names escaped', () => {
    const svg = lossChartSvg(
      [
        { step: 1, losses: { 'd<x>': 1, g: 2 } },
        { step: 2, losses: { 'd<x>': Number.NaN, g: 1 } },
      ],
      'a & b',
    );
    expect(lines(svg)).toEqual([['d&lt;x&gt;', 1], ['g', 2]]);
    expect(svg).toContain('<title>a &amp; b</title>');
    expect(lossChartSvg([], 'empty')).toContain('no steps recorded yet');
  });

  it('is written at the end of every run, beside the sample grids, from metrics.jsonl with a wall-clock time per line', async () => {
    const out = join(root, 'run');
    const before = Date.now();
    await train({ model: 'vae-mlp', batchSize: 32, backend: 'wasm', strategy: 'single', sampleEvery: 0, steps: 4, out }).done;
    const after = Date.now();
    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; time: string });
    expect(records.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    const times = records.map((r) => Date.parse(r.time));
    for (const [i, t] of times.entries()) {
      expect(records[i]!.time).toBe(new Date(t).toISOString());
      expect(t).toBeGreaterThanOrEqual(i === 0 ? before : times[i - 1]!);
      expect(t).toBeLessThanOrEqual(after);
    }
    const svg = readFileSync(join(out, LOSS_CHART), 'utf8');
    expect(LOSS_CHART).toBe(join('samples', 'losses.svg'));
    expect(lines(svg).map(([name, points]) => [name, points])).toContainEqual(['loss', 4]);
    expect(svg).toContain(`vae-mlp: losses by step (${out})`);
  });

  it('is an empty chart for a run with no metrics yet', async () => {
    const path = await writeLossChart(join(root, 'none'), 'nothing');
    expect(readFileSync(path, 'utf8')).toContain('no steps recorded yet');
  });
});
