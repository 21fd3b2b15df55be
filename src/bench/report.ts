/**
 * The bench's words: the table printed on the terminal and the markdown
 * report (`bench.md`). Both read only the result, so a saved `bench.json`
 * renders the same report again.
 */
import { figure } from '../data/svg.js';
import { FIELDS } from '../run/config-schema.js';
import type { BenchResult, BenchRow } from './types.js';

/** The `paragen bench` invocation that gives these settings (defaults left out). */
export function commandLine(result: Pick<BenchResult, 'settings'>): string {
  const s = result.settings;
  const parts = ['paragen bench'];
  if (s.quick) parts.push('--quick');
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(s.models, FIELDS.models.default)) parts.push('--models', s.models.join(','));
  if (!same(s.strategies, FIELDS.strategies.default)) parts.push('--strategies', s.strategies.join(','));
  if (!same(s.workerCounts, FIELDS.workerCounts.default)) parts.push('--workers', s.workerCounts.join(','));
  if (s.seed !== FIELDS.seed.default) parts.push('--seed', String(s.seed));
  if (s.backend !== FIELDS.backend.default) parts.push('--backend', s.backend);
  return parts.join(' ');
}

export { figure };

const percent = (v: number | null) => (v === null ? '' : `${(v * 100).toFixed(v * 100 < 9.95 ? 1 : 0)}%`);

/** A row as table cells. Rows that only differ in worker count and say the same (not available) share a line. */
interface Line {
  readonly model: string;
  readonly strategy: string;
  readonly workers: string;
  readonly backend: string;
  readonly batch: string;
  readonly rate: string;
  readonly gflops: string;
  readonly util: string;
  readonly speedup: string;
  readonly note: string;
}

function lines(rows: readonly BenchRow[]): Line[] {
  const out: (Line & { key?: string })[] = [];
  for (const r of rows) {
    const rate = r.samplesPerSec !== null ? figure(r.samplesPerSec) : r.bound !== null ? `< ${figure(r.bound)}` : '—';
    const speedup = r.speedup ? `${r.speedup.atLeast ? '> ' : ''}${figure(r.speedup.ratio)}× ${r.speedup.over}` : '';
    const status = r.status === 'ok' || r.status === 'partial' ? '' : r.status === 'failed' ? 'failed: ' : 'not available: ';
    const line: Line = {
      model: r.model,
      strategy: r.strategy === 'tfjs' ? 'plain tfjs' : r.strategy,
      workers: String(r.workers),
      backend: r.backend,
      batch: String(r.batchSize),
      rate,
      gflops: r.gflops === null ? '' : figure(r.gflops),
      util: percent(r.utilization),
      speedup,
      note: `${status}${r.note}${r.status === 'partial' && r.samplesPerSec !== null ? ' (cut at the time bound)' : ''}`,
    };
    const key = r.status === 'not-available' ? `${r.model}|${r.strategy}|${r.note}` : undefined;
    const previous = out.at(-1);
    if (key !== undefined && previous?.key === key) {
      out[out.length - 1] = { ...previous, workers: `${previous.workers},${r.workers}` };
    } else {
      out.push({ ...line, ...(key === undefined ? {} : { key }) });
    }
  }
  return out.map(({ key: _key, ...line }) => line);
}

const HEADER: Line = {
  model: 'model',
  strategy: 'strategy',
  workers: 'workers',
  backend: 'backend',
  batch: 'batch',
  rate: 'samples/s',
  gflops: 'GFLOP/s',
  util: 'util',
  speedup: 'vs tfjs',
  note: 'note',
};
const COLUMNS = Object.keys(HEADER) as (keyof Line)[];
const RIGHT = new Set<keyof Line>(['workers', 'batch', 'rate', 'gflops', 'util', 'speedup']);

function peakLine(result: BenchResult): string {
  return result.peak.map((p) => `${p.workers} worker${p.workers === 1 ? '' : 's'} ${figure(p.gflops)}`).join(' · ');
}

/** The terminal table, with a heading line and the matMul peak. */
export function formatTable(result: BenchResult): string {
  const table = [HEADER, ...lines(result.rows)];
  const widths = COLUMNS.map((c) => Math.max(...table.map((l) => l[c].length)));
  const render = (l: Line) =>
    COLUMNS.map((c, i) => (RIGHT.has(c) ? l[c].padStart(widths[i]!) : l[c].padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [
    `${commandLine(result)} · ${result.date} · ${result.machine.cpus} × ${result.machine.cpuModel} · Node ${result.machine.node} · tfjs ${result.machine.tfjs}`,
    `wasm matMul 512×512 peak (GFLOP/s): ${peakLine(result)}`,
    '',
    render(table[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(render),
  ];
  for (const c of result.scaling) {
    out.push('', `data strategy scaling, ${c.model}: ${scalingText(c)}`);
  }
  out.push('', `${result.wallSeconds.toFixed(0)} s in all`);
  return `${out.join('\n')}\n`;
}

function scalingText(c: BenchResult['scaling'][number]): string {
  if (c.note) return `not available: ${c.note}`;
  return c.points
    .map((p, i) => {
      const e = c.efficiency[i];
      return `${p.workers}${p.strategy === 'single' ? ' (single)' : ''}: ${p.samplesPerSec === null ? '—' : figure(p.samplesPerSec)}${e === null || e === undefined ? '' : ` (${percent(e)})`}`;
    })
    .join(' · ');
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${right.map((r) => (r ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** The markdown report: settings, machine, peak, the table, the scaling curve, the FLOP counts and how they were measured. */
export function formatMarkdown(result: BenchResult, chart?: string): string {
  const b = result.budget;
  const table = lines(result.rows);
  const md = [
    `# paragen bench — ${result.date.slice(0, 10)}`,
    '',
    `\`${commandLine(result)}\` on ${result.machine.cpus} × ${result.machine.cpuModel} (${result.machine.platform}), ` +
      `Node ${result.machine.node}, TensorFlow.js ${result.machine.tfjs}; paragen on ${result.backend.name} ` +
      `(${result.backend.reason}). ${result.wallSeconds.toFixed(0)} s in all.`,
    '',
    ...(chart ? [`![samples/s by strategy and worker count](${chart})`, ''] : []),
    '## Throughput',
    '',
    ...markdownTable(
      COLUMNS.map((c) => HEADER[c]),
      table.map((l) => COLUMNS.map((c) => l[c])),
      COLUMNS.map((c) => RIGHT.has(c)),
    ),
    '',
    `samples/s: the median of ${b.engine.windows} windows of at least ${b.engine.windowSeconds} s (and one step) after a warm-up ` +
      `of ${b.engine.warmupSteps} steps and ${b.engine.warmupSeconds} s; baselines ${b.baseline.windows} windows of ` +
      `${b.baseline.windowSeconds} s after ${b.baseline.warmupSteps} steps. Plain tfjs runs in a child process that loads ` +
      `only @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm (none of paragen's kernels); a GAN on its cpu backend ` +
      `trains at batch ${b.slowBatchSize}, bounded at ${b.slowBaseline.maxSeconds} s. ` +
      'util: FLOPs run per second (recomputation included) over the wasm matMul peak of as many workers (one for a baseline). ' +
      'vs tfjs: over the same model in plain tfjs on wasm, or on cpu where wasm fails. ' +
      "paragen's rows run `paragen train`'s defaults (thread host, prefetch 4, a snapshot every 10 steps); " +
      'bubble: the share of a step a pipeline stage sat idle, beside the ideal (p−1)/(m+p−1). ' +
      '"machine busy": other processes used that many cores while the row ran (Linux), so its figure reads low. ' +
      'bench.json also has each row\'s windows and its utilisation by the model\'s own FLOPs (no recomputation).',
    '',
    '## wasm matMul peak',
    '',
    ...markdownTable(
      ['workers', 'GFLOP/s together', 'per worker'],
      result.peak.map((p) => [String(p.workers), figure(p.gflops), p.perWorker.map(figure).join(', ')]),
      [true, true, false],
    ),
    '',
    `512×512 · 512×512 products, each worker thread its own wasm instance, all multiplying at once for ${b.peakSeconds} s; best of ${b.peakRepeats}.`,
  ];
  if (result.scaling.length > 0) {
    md.push('', '## Scaling of the data strategy', '');
    for (const c of result.scaling) {
      if (c.note) {
        md.push(`${c.model}: not available: ${c.note}`, '');
        continue;
      }
      md.push(
        ...markdownTable(
          ['workers', `${c.model} samples/s`, 'efficiency'],
          c.points.map((p, i) => [`${p.workers}${p.strategy === 'single' ? ' (single)' : ''}`, p.samplesPerSec === null ? '—' : figure(p.samplesPerSec), percent(c.efficiency[i] ?? null)]),
          [true, true, true],
        ),
        '',
      );
    }
    md.push(`Efficiency: samples/s ÷ (workers × the 1-worker figure; \`single\` where data takes no fewer than 2 workers). This machine has ${result.machine.cpus} cores: past them, workers share cores.`);
  }
  md.push(
    '',
    '## FLOPs per training sample',
    '',
    ...markdownTable(
      ['model', 'one tape', 'paragen runs', 'plain tfjs runs'],
      result.flops.map((f) => [f.model, mflop(f.tape), mflop(f.paragen), mflop(f.baseline)]),
      [false, true, true, true],
    ),
    '',
    'Dense and convolution products only (a multiply-add is 2 FLOPs); a weight or input gradient costs what the forward ' +
      'product does. paragen runs one tape\'s worth: the generator and the encoder keep their forward tape until the upstream ' +
      'gradient arrives, and the discriminator\'s fake pass serves both of its gradients; the plain-tfjs GAN calls ' +
      'tf.variableGrads once per network and so runs G and D on fakes twice. See src/bench/flops.ts.',
  );
  if (result.skipped.length > 0) {
    md.push('', '## Not run', '', ...result.skipped.map((s) => `- ${s.model} ${s.strategy} on ${s.workers} worker${s.workers === 1 ? '' : 's'}: ${s.reason}`));
  }
  return `${md.join('\n')}\n`;
}

function mflop(flops: number): string {
  return `${figure(flops / 1e6)} MFLOP`;
}
