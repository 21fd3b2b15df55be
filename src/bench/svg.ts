/**
 * The bench chart (`bench.svg`), written by hand: per model, grouped bars of
 * samples/s by strategy, one bar per worker count (plain tfjs in grey); then
 * the data strategy's scaling curve as speedup over its 1-worker figure, with
 * the ideal line and the machine's core count marked, so the knee shows.
 *
 * Every row gets a bar — `<rect class="bar …">` with its model, strategy,
 * backend and workers as data attributes — and a row with no figure (not
 * available, failed) gets an outlined stub labelled with why.
 */
import { axis, figure, svgDocument, tick, xml } from '../data/svg.js';
export { axis, tick, xml };
import type { BenchResult, BenchRow, ScalingCurve } from './types.js';

const WIDTH = 960;
const PANEL = 300;
const CURVE = 320;
const LEFT = 70;
const RIGHT = 20;
const WORKER_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7'];
const BASELINE_COLOUR = '#9d9d9d';

const n = (v: number) => (Math.round(v * 10) / 10).toString();

function colour(row: BenchRow): string {
  return row.strategy === 'tfjs' ? BASELINE_COLOUR : WORKER_COLOURS[(row.workers - 1) % WORKER_COLOURS.length]!;
}

function groupName(row: BenchRow): string {
  return row.strategy === 'tfjs' ? `tfjs ${row.backend}` : row.strategy;
}

function modelPanel(model: string, rows: readonly BenchRow[], y0: number): string[] {
  const out: string[] = [];
  const top = y0 + 40;
  const bottom = y0 + PANEL - 50;
  const plotWidth = WIDTH - LEFT - RIGHT;
  const { top: yMax, step } = axis(Math.max(0, ...rows.map((r) => r.samplesPerSec ?? 0)));
  const y = (v: number) => bottom - (v / yMax) * (bottom - top);
  const batch = rows.find((r) => r.strategy !== 'tfjs')?.batchSize ?? rows[0]?.batchSize;
  out.push(`<text class="title" x="${LEFT}" y="${y0 + 22}">${xml(model)}: samples/s by strategy and worker count${batch ? ` (batch ${batch})` : ''}</text>`);
  for (let v = 0; v <= yMax + step / 2; v += step) {
    out.push(`<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${n(y(v))}" y2="${n(y(v))}"/>`);
    out.push(`<text class="tick" x="${LEFT - 6}" y="${n(y(v) + 4)}" text-anchor="end">${xml(tick(v))}</text>`);
  }
  const groups = [...new Set(rows.map(groupName))];
  const groupWidth = plotWidth / Math.max(1, groups.length);
  groups.forEach((g, gi) => {
    const members = rows.filter((r) => groupName(r) === g);
    const inner = groupWidth * 0.8;
    const barWidth = inner / members.length;
    const x0 = LEFT + gi * groupWidth + (groupWidth - inner) / 2;
    members.forEach((r, i) => {
      const x = x0 + i * barWidth + barWidth * 0.08;
      const w = barWidth * 0.84;
      const data = `data-model="${xml(r.model)}" data-strategy="${xml(r.strategy)}" data-backend="${xml(r.backend)}" data-workers="${r.workers}"`;
      const title = `<title>${xml(`${r.model} ${groupName(r)} × ${r.workers}: ${r.samplesPerSec === null ? r.status : `${figure(r.samplesPerSec)} samples/s`}${r.note ? ` — ${r.note}` : ''}`)}</title>`;
      if (r.samplesPerSec === null) {
        const label = r.bound !== null ? `< ${figure(r.bound)}` : r.status === 'failed' ? 'failed' : 'n/a';
        out.push(`<rect class="bar missing" ${data} x="${n(x)}" y="${n(bottom - 14)}" width="${n(w)}" height="14">${title}</rect>`);
        out.push(`<text class="value" x="${n(x + w / 2)}" y="${n(bottom - 18)}" text-anchor="middle">${xml(label)}</text>`);
      } else {
        const h = Math.max(1, bottom - y(r.samplesPerSec));
        out.push(`<rect class="bar" ${data} x="${n(x)}" y="${n(bottom - h)}" width="${n(w)}" height="${n(h)}" fill="${colour(r)}">${title}</rect>`);
        out.push(`<text class="value" x="${n(x + w / 2)}" y="${n(bottom - h - 4)}" text-anchor="middle">${xml(figure(r.samplesPerSec))}</text>`);
      }
      if (r.strategy !== 'tfjs') {
        out.push(`<text class="tick" x="${n(x + w / 2)}" y="${bottom + 14}" text-anchor="middle">×${r.workers}</text>`);
      }
    });
    out.push(`<text class="group" x="${n(LEFT + (gi + 0.5) * groupWidth)}" y="${bottom + 32}" text-anchor="middle">${xml(g)}</text>`);
  });
  out.push(`<line class="axis" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${bottom}" y2="${bottom}"/>`);
  return out;
}

function curvePanel(curves: readonly ScalingCurve[], cores: number, y0: number): string[] {
  const out: string[] = [];
  const top = y0 + 40;
  const bottom = y0 + CURVE - 50;
  const measured = curves.filter((c) => !c.note && c.points.some((p) => p.samplesPerSec !== null));
  const base = curves.some((c) => c.points[0]?.strategy === 'single') ? ' (single where data takes 2 or more)' : '';
  out.push(`<text class="title" x="${LEFT}" y="${y0 + 22}">data strategy: speedup over 1 worker${base}; dashed: ideal; dotted: ${cores} cores</text>`);
  if (measured.length === 0) {
    const why = curves[0]?.note ?? 'no data rows';
    out.push(`<text class="note" x="${LEFT}" y="${top + 30}">not available: ${xml(why)}</text>`);
    return out;
  }
  const maxWorkers = Math.max(...measured.flatMap((c) => c.points.map((p) => p.workers)));
  const speedups = measured.flatMap((c) => c.points.map((p, i) => (c.efficiency[i] ?? 0) * p.workers));
  const { top: yMax, step } = axis(Math.max(maxWorkers, ...speedups));
  const x = (w: number) => LEFT + ((w - 1) / Math.max(1, maxWorkers - 1)) * (WIDTH - LEFT - RIGHT - 120);
  const y = (v: number) => bottom - (v / yMax) * (bottom - top);
  for (let v = 0; v <= yMax + step / 2; v += step) {
    out.push(`<line class="grid" x1="${LEFT}" x2="${n(x(maxWorkers))}" y1="${n(y(v))}" y2="${n(y(v))}"/>`);
    out.push(`<text class="tick" x="${LEFT - 6}" y="${n(y(v) + 4)}" text-anchor="end">${xml(tick(v))}×</text>`);
  }
  for (let w = 1; w <= maxWorkers; w++) {
    out.push(`<text class="tick" x="${n(x(w))}" y="${bottom + 16}" text-anchor="middle">${w}</text>`);
  }
  out.push(`<text class="group" x="${n(x((1 + maxWorkers) / 2))}" y="${bottom + 34}" text-anchor="middle">workers</text>`);
  out.push(`<line class="ideal" x1="${n(x(1))}" y1="${n(y(1))}" x2="${n(x(maxWorkers))}" y2="${n(y(maxWorkers))}"/>`);
  if (cores >= 1 && cores <= maxWorkers) {
    out.push(`<line class="cores" x1="${n(x(cores))}" x2="${n(x(cores))}" y1="${top}" y2="${bottom}"/>`);
  }
  measured.forEach((c, ci) => {
    const colourOf = WORKER_COLOURS[ci % WORKER_COLOURS.length]!;
    const pts = c.points
      .map((p, i) => ({ w: p.workers, s: c.efficiency[i] === null || c.efficiency[i] === undefined ? null : c.efficiency[i]! * p.workers }))
      .filter((p): p is { w: number; s: number } => p.s !== null);
    out.push(`<polyline class="curve" data-model="${xml(c.model)}" stroke="${colourOf}" points="${pts.map((p) => `${n(x(p.w))},${n(y(p.s))}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${n(x(p.w))}" cy="${n(y(p.s))}" r="4" fill="${colourOf}"><title>${xml(`${c.model} × ${p.w}: ${p.s.toFixed(2)}×`)}</title></circle>`);
    // An inline style: the sheet's `text { fill }` would override a fill attribute.
    out.push(`<text class="legend" x="${n(x(maxWorkers) + 12)}" y="${n(top + 16 + ci * 18)}" style="fill: ${colourOf}">${xml(c.model)}</text>`);
  });
  out.push(`<line class="axis" x1="${LEFT}" x2="${n(x(maxWorkers))}" y1="${bottom}" y2="${bottom}"/>`);
  return out;
}

function legend(workers: readonly number[], y0: number): string[] {
  const out = [`<text class="tick" x="${LEFT}" y="${y0 + 14}">bars:</text>`];
  const entries: [string, string][] = [['plain tfjs', BASELINE_COLOUR], ...workers.map((w): [string, string] => [`${w} worker${w === 1 ? '' : 's'}`, WORKER_COLOURS[(w - 1) % WORKER_COLOURS.length]!])];
  entries.forEach(([label, c], i) => {
    const x = LEFT + 44 + i * 110;
    out.push(`<rect x="${x}" y="${y0 + 4}" width="12" height="12" fill="${c}"/>`);
    out.push(`<text class="tick" x="${x + 16}" y="${y0 + 14}">${xml(label)}</text>`);
  });
  return out;
}

/** The chart of `result` as a standalone SVG document. */
export function formatSvg(result: BenchResult): string {
  const models = [...new Set(result.rows.map((r) => r.model))];
  const workers = [...new Set(result.rows.filter((r) => r.strategy !== 'tfjs').map((r) => r.workers))].sort((a, b) => a - b);
  const body: string[] = [];
  let y = 0;
  body.push(...legend(workers, y));
  y += 24;
  for (const m of models) {
    body.push(...modelPanel(m, result.rows.filter((r) => r.model === m), y));
    y += PANEL;
  }
  if (result.scaling.length > 0) {
    body.push(...curvePanel(result.scaling, result.machine.cpus, y));
    y += CURVE;
  }
  const style = [
    'text { font-family: system-ui, sans-serif; font-size: 11px; fill: #333; }',
    '.title { font-size: 14px; font-weight: 600; }',
    '.group { font-size: 12px; }',
    '.value { font-size: 10px; }',
    '.note { font-size: 12px; fill: #a33; }',
    '.grid { stroke: #e6e6e6; }',
    '.axis { stroke: #555; }',
    '.bar.missing { fill: none; stroke: #999; stroke-dasharray: 3 2; }',
    '.ideal { stroke: #999; stroke-dasharray: 5 4; }',
    '.cores { stroke: #c44; stroke-dasharray: 2 3; }',
    '.curve { fill: none; stroke-width: 2; }',
  ];
  return svgDocument(WIDTH, y + 10, `paragen bench ${result.date}`, style, body);
}
