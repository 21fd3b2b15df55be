/**
 * `samples/losses.svg`, written when a run ends: a line per loss against the
 * step, read back from `metrics.jsonl`, so a run can be judged from its
 * directory alone (the live view is `paragen dashboard`). Drawn by hand with
 * the bench chart's axis and escaping (src/bench/svg.ts).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { axis, svgDocument, tick, xml } from '../data/svg.js';
import { writeFileAtomic } from './atomic.js';
import { METRICS_FILE } from './run-dir.js';

export const LOSS_CHART = join('samples', 'losses.svg');

const WIDTH = 800;
const HEIGHT = 360;
const LEFT = 70;
const RIGHT = 150;
const TOP = 40;
const BOTTOM = 50;
const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];

/** A metrics.jsonl record, as far as the chart reads it. */
export interface LossRecord {
  readonly step: number;
  readonly losses: Readonly<Record<string, number>>;
}

/** The records of a metrics.jsonl text that have a step and losses; other lines are passed over. */
export function lossRecords(text: string): LossRecord[] {
  const out: LossRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as Partial<LossRecord>;
      if (typeof r.step === 'number' && r.losses && typeof r.losses === 'object') out.push({ step: r.step, losses: r.losses });
    } catch {
      // A half-written last line of a run still being written: the next read has it whole.
      continue;
    }
  }
  return out;
}

const f = (v: number) => (Math.round(v * 10) / 10).toString();

/** The chart as a standalone SVG document; each line a `<polyline class="loss" data-loss="…">`. */
export function lossChartSvg(records: readonly LossRecord[], title: string): string {
  const names = [...new Set(records.flatMap((r) => Object.keys(r.losses)))];
  const finite = records.flatMap((r) => Object.values(r.losses).filter(Number.isFinite));
  const lo = Math.min(0, ...finite);
  const { top: hi, step: yStep } = axis(Math.max(...finite, 0) - lo);
  const steps = records.map((r) => r.step);
  const first = Math.min(...steps, 0);
  const last = Math.max(...steps, 1);
  const { top: xTop, step: xStep } = axis(last - first);
  const x = (s: number) => LEFT + ((s - first) / xTop) * (WIDTH - LEFT - RIGHT);
  const y = (v: number) => HEIGHT - BOTTOM - ((v - lo) / hi) * (HEIGHT - TOP - BOTTOM);
  const body: string[] = [`<text class="title" x="${LEFT}" y="24">${xml(title)}</text>`];
  for (let v = 0; v <= hi + yStep / 2; v += yStep) {
    body.push(`<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${f(y(lo + v))}" y2="${f(y(lo + v))}"/>`);
    body.push(`<text class="tick" x="${LEFT - 6}" y="${f(y(lo + v) + 4)}" text-anchor="end">${xml(tick(lo + v))}</text>`);
  }
  for (let s = 0; s <= xTop + xStep / 2; s += xStep) {
    body.push(`<text class="tick" x="${f(x(first + s))}" y="${HEIGHT - BOTTOM + 16}" text-anchor="middle">${xml(tick(first + s))}</text>`);
  }
  body.push(`<text class="tick" x="${(LEFT + WIDTH - RIGHT) / 2}" y="${HEIGHT - 12}" text-anchor="middle">step</text>`);
  if (records.length === 0) body.push(`<text class="note" x="${LEFT + 10}" y="${TOP + 30}">no steps recorded yet</text>`);
  names.forEach((name, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = records
      .filter((r) => Number.isFinite(r.losses[name]))
      .map((r) => `${f(x(r.step))},${f(y(r.losses[name]!))}`);
    body.push(`<polyline class="loss" data-loss="${xml(name)}" data-points="${points.length}" stroke="${colour}" points="${points.join(' ')}"/>`);
    body.push(`<line x1="${WIDTH - RIGHT + 16}" x2="${WIDTH - RIGHT + 36}" y1="${TOP + 10 + i * 18}" y2="${TOP + 10 + i * 18}" stroke="${colour}" stroke-width="2"/>`);
    body.push(`<text x="${WIDTH - RIGHT + 42}" y="${TOP + 14 + i * 18}">${xml(name)}</text>`);
  });
  body.push(`<line class="axis" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${HEIGHT - BOTTOM}" y2="${HEIGHT - BOTTOM}"/>`);
  const style = [
    'text { font-family: system-ui, sans-serif; font-size: 11px; fill: #333; }',
    '.title { font-size: 14px; font-weight: 600; }',
    '.note { font-size: 12px; fill: #a33; }',
    '.grid { stroke: #e6e6e6; }',
    '.axis { stroke: #555; }',
    '.loss { fill: none; stroke-width: 1.5; }',
  ];
  return svgDocument(WIDTH, HEIGHT, title, style, body);
}

/** Reads `<runDir>/metrics.jsonl` and writes `<runDir>/samples/losses.svg`; resolves with its path. */
export async function writeLossChart(runDir: string, title = `losses of ${runDir}`): Promise<string> {
  const text = await readFile(join(runDir, METRICS_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const path = join(runDir, LOSS_CHART);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, lossChartSvg(lossRecords(text), title));
  return path;
}
