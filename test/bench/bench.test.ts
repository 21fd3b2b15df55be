/**
 * `bench()` end to end on a tiny budget — real engines, worker threads and
 * baseline child processes on the real MNIST — then its three files: the
 * JSON is the result, the markdown has a table line per row, the chart is
 * well-formed XML with a bar per row. A strategy that cannot run here is a
 * row that says why, whichever strategies are built when this runs.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bench, formatTable, type BenchResult, type BudgetOverride } from '../../src/bench/index.js';
import { elements, parseXml } from './xml.js';

/** One or two steps per figure: this checks the plumbing, not the machine. */
export const TINY: BudgetOverride = {
  engine: { warmupSteps: 1, warmupSeconds: 0, windows: 2, windowSeconds: 0, maxSeconds: 20 },
  baseline: { warmupSteps: 1, warmupSeconds: 0, windows: 2, windowSeconds: 0, maxSeconds: 20 },
  slowBaseline: { maxSeconds: 1 },
  peakSeconds: 0.05,
  peakRepeats: 1,
};

let dir: string;
let result: BenchResult;
const progress: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-bench-'));
  result = await bench(
    { models: ['vae-mlp'], strategies: ['single', 'data'], workerCounts: [1, 2], backend: 'wasm', out: dir },
    { budget: TINY, onProgress: (line) => progress.push(line) },
  );
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bench()', () => {
  it('measures the baselines and every strategy that runs, and says why any other does not', () => {
    expect(result.format).toBe('paragen-bench');
    expect(result.settings).toEqual({ quick: false, models: ['vae-mlp'], strategies: ['single', 'data'], workerCounts: [1, 2], seed: 0, backend: 'wasm' });
    const keys = result.rows.map((r) => `${r.strategy}/${r.backend}/${r.workers}`);
    expect(keys.slice(0, 3)).toEqual(['tfjs/wasm/1', 'tfjs/cpu/1', 'single/wasm/1']);
    for (const row of result.rows.slice(0, 3)) {
      expect(row.status).toBe('ok');
      expect(row.samplesPerSec).toBeGreaterThan(0);
      expect(row.windows).toHaveLength(2);
      expect(row.steps).toBe(3);
      expect(row.gflops).toBeGreaterThan(0);
      expect(row.utilization).toBeGreaterThan(0);
      if (process.platform === 'linux') expect(row.otherCpu).toBeGreaterThanOrEqual(0);
    }
    expect(result.rows[2]!.speedup).toMatchObject({ over: 'wasm', atLeast: false });
    // data: measured where built (on 2 workers; 1 worker is refused), else not available; no count not asked for.
    const data = result.rows.filter((r) => r.strategy === 'data');
    expect(data.length).toBeGreaterThan(0);
    expect(result.rows.every((r) => r.workers === 1 || r.workers === 2)).toBe(true);
    for (const row of data) {
      if (row.status === 'not-available') {
        expect(row.samplesPerSec).toBeNull();
        expect(row.note).toMatch(/\S/);
      } else {
        expect(row.status).toBe('ok');
        expect(row.samplesPerSec).toBeGreaterThan(0);
      }
    }
    for (const s of result.skipped) expect(s.reason).toMatch(/^workers must be /);
    expect(result.scaling).toHaveLength(1);
    expect(result.scaling[0]!.points.map((p) => p.workers)).toEqual([1, 2]);
    expect(result.peak.map((p) => p.workers)).toEqual([1, 2]);
    expect(result.peak[0]!.gflops).toBeGreaterThan(0);
    expect(result.flops).toEqual([{ model: 'vae-mlp', tape: 3_280_000, paragen: 3_280_000, baseline: 3_280_000 }]);
    expect(progress[0]).toMatch(/^matMul peak: wasm 512×512 on 1, 2 workers$/);
    expect(progress.filter((l) => /^\[\d+\/\d+\] vae-mlp /.test(l))).toHaveLength(result.rows.length);
  });

  it('writes bench.json: the result itself', () => {
    expect(result.files).toEqual({ json: join(dir, 'bench.json'), markdown: join(dir, 'bench.md'), chart: join(dir, 'bench.svg') });
    expect(JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(result)));
  });

  it('writes a markdown report with a table line per row and the peak', () => {
    const md = readFileSync(join(dir, 'bench.md'), 'utf8');
    expect(md).toMatch(/^# paragen bench — \d{4}-\d\d-\d\d\n/);
    expect(md).toContain('`paragen bench --models vae-mlp --strategies single,data --backend wasm`');
    expect(md).toContain('| model | strategy | workers | backend | batch | samples/s | GFLOP/s | util | vs tfjs | note |');
    const measured = result.rows.filter((r) => r.status !== 'not-available');
    const lines = md.split('\n').filter((l) => l.startsWith('| vae-mlp |'));
    expect(lines.length).toBeGreaterThanOrEqual(measured.length);
    expect(lines[0]).toMatch(/^\| vae-mlp \| plain tfjs \| 1 \| wasm \| 128 \| [\d,.]+ \|/);
    expect(md).toContain('## wasm matMul peak');
    expect(md).toContain('![samples/s by strategy and worker count](bench.svg)');
  });

  it('draws a well-formed SVG with a bar per row', () => {
    const svg = parseXml(readFileSync(join(dir, 'bench.svg'), 'utf8'));
    expect(svg.name).toBe('svg');
    expect(svg.attributes['xmlns']).toBe('http://www.w3.org/2000/svg');
    const bars = elements(svg).filter((e) => e.name === 'rect' && e.attributes['class']?.split(' ').includes('bar'));
    expect(bars).toHaveLength(result.rows.length);
    expect(bars.map((b) => `${b.attributes['data-strategy']}/${b.attributes['data-backend']}/${b.attributes['data-workers']}`)).toEqual(
      result.rows.map((r) => `${r.strategy}/${r.backend}/${r.workers}`),
    );
  });

  it('prints a table with a heading, the peak and a line per row', () => {
    const table = formatTable(result).split('\n');
    expect(table[0]).toMatch(/^paragen bench --models vae-mlp .* · Node v\d+/);
    expect(table[1]).toMatch(/^wasm matMul 512×512 peak \(GFLOP\/s\): 1 worker [\d.]+ · 2 workers [\d.]+$/);
    expect(table[3]).toMatch(/^model +strategy +workers +backend +batch +samples\/s +GFLOP\/s +util +vs tfjs +note$/);
    expect(table[5]).toMatch(/^vae-mlp +plain tfjs +1 +wasm +128 +[\d,.]+ /);
  });
});
