/**
 * The report and the chart from a made-up result that has every kind of
 * row: measured, failed, bounded, not available on several worker counts;
 * a scaling curve from `single`; utilisation and speedups derived.
 */
import { describe, expect, it } from 'vitest';
import { derive } from '../../src/bench/derive.js';
import { commandLine, formatMarkdown, formatSvg, formatTable, FULL_BUDGET, type BenchResult, type BenchRow } from '../../src/bench/index.js';
import { elements, parseXml } from './xml.js';

function row(partial: Partial<BenchRow> & Pick<BenchRow, 'model' | 'strategy' | 'workers'>): BenchRow {
  return {
    backend: 'wasm',
    batchSize: partial.model === 'dcgan' ? 64 : 128,
    status: 'ok',
    samplesPerSec: null,
    bound: null,
    windows: [],
    steps: 0,
    warmupSteps: 0,
    gflops: null,
    utilization: null,
    modelUtilization: null,
    speedup: null,
    bubble: null,
    otherCpu: null,
    note: '',
    seconds: 1,
    ...partial,
  };
}

const rows: BenchRow[] = [
  row({ model: 'vae-mlp', strategy: 'tfjs', workers: 1, samplesPerSec: 1000 }),
  row({ model: 'vae-mlp', strategy: 'tfjs', workers: 1, backend: 'cpu', samplesPerSec: 200 }),
  row({ model: 'vae-mlp', strategy: 'single', workers: 1, samplesPerSec: 3000 }),
  row({ model: 'vae-mlp', strategy: 'data', workers: 2, samplesPerSec: 5400 }),
  row({ model: 'vae-mlp', strategy: 'data', workers: 3, samplesPerSec: 5000 }),
  row({ model: 'vae-mlp', strategy: 'pipeline', workers: 2, status: 'not-available', note: "strategy 'pipeline' is not built yet" }),
  row({ model: 'vae-mlp', strategy: 'pipeline', workers: 3, status: 'not-available', note: "strategy 'pipeline' is not built yet" }),
  row({ model: 'dcgan', strategy: 'tfjs', workers: 1, status: 'failed', note: "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'" }),
  row({ model: 'dcgan', strategy: 'tfjs', workers: 1, backend: 'cpu', batchSize: 8, status: 'partial', bound: 0.8, note: 'no step finished in 10 s: under 0.80 samples/s' }),
  row({ model: 'dcgan', strategy: 'model', workers: 2, samplesPerSec: 40, note: 'bubble 30% (ideal 50%)', bubble: { measured: 0.3, ideal: 0.5 } }),
];
const peak = [
  { workers: 1, gflops: 40, perWorker: [40] },
  { workers: 2, gflops: 80, perWorker: [40, 40] },
  { workers: 3, gflops: 80, perWorker: [27, 27, 26] },
];
const flops = [
  { model: 'vae-mlp' as const, tape: 4e6, paragen: 5e6, baseline: 4e6 },
  { model: 'dcgan' as const, tape: 450e6, paragen: 580e6, baseline: 580e6 },
];
const derived = derive(rows, peak, flops, ['vae-mlp', 'dcgan']);
const result: BenchResult = {
  format: 'paragen-bench',
  date: '2026-11-29T06:00:00.000Z',
  settings: { quick: true, models: ['vae-mlp', 'dcgan'], strategies: ['single', 'data', 'model', 'pipeline'], workerCounts: [1, 2], seed: 0, backend: 'auto' },
  machine: { cpus: 2, cpuModel: 'Test CPU <2 cores> & more', platform: 'linux x64', node: 'v20.0.0', tfjs: '4.22.0' },
  backend: { name: 'wasm', reason: 'wasm with SIMD' },
  peak,
  flops,
  rows: derived.rows,
  scaling: derived.scaling,
  skipped: [{ model: 'vae-mlp', strategy: 'data', workers: 1, reason: "workers must be at least 2 for strategy 'data', got 1" }],
  budget: FULL_BUDGET,
  wallSeconds: 95,
};

describe('derived figures', () => {
  it('FLOP rate and utilisation against the peak of as many workers (one for a baseline)', () => {
    const [wasm, , single, data2] = derived.rows;
    expect(wasm).toMatchObject({ gflops: 4, utilization: 0.1, modelUtilization: 0.1 });
    expect(single).toMatchObject({ gflops: 15, utilization: 15 / 40, modelUtilization: 12 / 40 });
    expect(data2!.utilization).toBeCloseTo(27 / 80, 12);
  });

  it('speedups over the wasm baseline, or a lower bound over a bounded cpu one', () => {
    expect(derived.rows[2]!.speedup).toEqual({ over: 'wasm', ratio: 3, atLeast: false });
    expect(derived.rows[9]!.speedup).toEqual({ over: 'cpu', ratio: 50, atLeast: true });
    expect(derived.rows[0]!.speedup).toBeNull();
    expect(derived.rows[5]!.speedup).toBeNull();
  });

  it('the scaling curve starts from single where data does not take 1 worker', () => {
    expect(derived.scaling).toHaveLength(1);
    const [curve] = derived.scaling;
    expect(curve!.points.map((p) => [p.workers, p.strategy, p.samplesPerSec])).toEqual([
      [1, 'single', 3000],
      [2, 'data', 5400],
      [3, 'data', 5000],
    ]);
    expect(curve!.efficiency).toEqual([1, 0.9, 5000 / 9000]);
  });
});

describe('the report', () => {
  it('names the command that reproduces the run, defaults left out', () => {
    expect(commandLine(result)).toBe('paragen bench --quick');
    expect(commandLine({ settings: { ...result.settings, quick: false, models: ['dcgan'], workerCounts: [1, 2, 4], seed: 3 } })).toBe(
      'paragen bench --models dcgan --workers 1,2,4 --seed 3',
    );
  });

  it('prints one table line per row, joining a not-available strategy across worker counts', () => {
    const text = formatTable(result);
    const lines = text.split('\n');
    expect(lines[0]).toBe('paragen bench --quick · 2026-11-29T06:00:00.000Z · 2 × Test CPU <2 cores> & more · Node v20.0.0 · tfjs 4.22.0');
    expect(lines[1]).toBe('wasm matMul 512×512 peak (GFLOP/s): 1 worker 40.0 · 2 workers 80.0 · 3 workers 80.0');
    const body = lines.slice(5, 5 + rows.length - 1);
    expect(body).toHaveLength(9);
    expect(body[2]).toMatch(/^vae-mlp +single +1 +wasm +128 +3,000 +15\.0 +38% +3\.00× wasm$/);
    expect(body[5]).toMatch(/^vae-mlp +pipeline +2,3 +wasm +128 +— +not available: strategy 'pipeline' is not built yet$/);
    expect(body[6]).toMatch(/^dcgan +plain tfjs +1 +wasm +64 +— +failed: Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'$/);
    expect(body[7]).toMatch(/^dcgan +plain tfjs +1 +cpu +8 +< 0\.80 +no step finished in 10 s: under 0\.80 samples\/s$/);
    expect(body[8]).toMatch(/^dcgan +model +2 +wasm +64 +40\.0 +23\.2 +29% +> 50\.0× cpu +bubble 30% \(ideal 50%\)$/);
    expect(text).toContain('data strategy scaling, vae-mlp: 1 (single): 3,000 (100%) · 2: 5,400 (90%) · 3: 5,000 (56%)');
  });

  it('writes markdown tables that escape pipes and mark the right-aligned columns', () => {
    const md = formatMarkdown({ ...result, rows: [{ ...result.rows[0]!, note: 'a | b' }] }, 'bench.svg');
    expect(md).toContain('| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |');
    expect(md).toContain('| vae-mlp | plain tfjs | 1 | wasm | 128 | 1,000 | 4.00 | 10% |  | a \\| b |');
    expect(md).toContain('| 1 (single) | 3,000 | 100% |');
    expect(md).toContain("- vae-mlp data on 1 worker: workers must be at least 2 for strategy 'data', got 1");
  });
});

describe('the chart', () => {
  const svg = formatSvg(result);
  const root = parseXml(svg);
  const all = elements(root);

  it('is well-formed, with the machine name escaped', () => {
    expect(root.name).toBe('svg');
    expect(svg).not.toContain('<2 cores>');
  });

  it('has a bar per row: filled where measured, an outlined stub saying why where not', () => {
    const bars = all.filter((e) => e.name === 'rect' && (e.attributes['class'] ?? '').split(' ').includes('bar'));
    expect(bars).toHaveLength(rows.length);
    const missing = bars.filter((b) => b.attributes['class'] === 'bar missing');
    expect(missing.map((b) => b.attributes['data-strategy'])).toEqual(['pipeline', 'pipeline', 'tfjs', 'tfjs']);
    const labels = all.filter((e) => e.name === 'text' && e.attributes['class'] === 'value').map((e) => e.text);
    expect(labels).toEqual(expect.arrayContaining(['1,000', '3,000', 'n/a', 'failed', '< 0.80', '40.0']));
    // The tallest bar of a panel reaches its axis maximum or below it.
    const heights = bars.filter((b) => b.attributes['data-model'] === 'vae-mlp' && b.attributes['class'] === 'bar').map((b) => Number(b.attributes['height']));
    expect(Math.max(...heights)).toBeLessThanOrEqual(210);
  });

  it('draws the scaling curve with the ideal line and the core count', () => {
    const curve = all.filter((e) => e.name === 'polyline');
    expect(curve).toHaveLength(1);
    expect(curve[0]!.attributes['points']!.split(' ')).toHaveLength(3);
    expect(all.some((e) => e.name === 'line' && e.attributes['class'] === 'ideal')).toBe(true);
    expect(all.some((e) => e.name === 'line' && e.attributes['class'] === 'cores')).toBe(true);
  });

  it('says why there is no curve when the data strategy is not available', () => {
    const scaling = [{ model: 'vae-mlp' as const, points: [], efficiency: [], note: "strategy 'data' is not built yet" }];
    const text = parseXml(formatSvg({ ...result, scaling }));
    const notes = elements(text).filter((e) => e.attributes['class'] === 'note').map((e) => e.text);
    expect(notes).toEqual(["not available: strategy 'data' is not built yet"]);
  });
});
