/**
 * What `paragen dashboard` knows about runs, read from their directories
 * only (config.json, metrics.jsonl, events.jsonl, summary.json, run.lock,
 * checkpoints/, samples/): any run is shown, whoever trains it, and nothing is written.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { listCheckpoints } from '../run/checkpoint.js';
import { isProcessAlive, LOCK_FILE, type LockInfo } from '../run/lock.js';
import { CONFIG_FILE, EVENTS_FILE, METRICS_FILE, SUMMARY_FILE } from '../run/run-dir.js';

export type RunState = 'running' | 'done' | 'stopped' | 'failed';

/** One metrics.jsonl line as the dashboard reads it. */
export interface MetricRecord {
  readonly step: number;
  /** ISO wall-clock time (runs from before it was recorded have none). */
  readonly time?: string;
  readonly epoch?: number;
  readonly losses: Readonly<Record<string, number>>;
  readonly samplesPerSec?: number;
  readonly skipped?: boolean;
}

export interface RunInfo {
  readonly name: string;
  readonly model: string;
  readonly strategy: string;
  readonly backend: string;
  readonly workers: number | null;
  readonly step: number;
  readonly totalSteps: number | null;
  readonly state: RunState;
  readonly losses: Readonly<Record<string, number>>;
  readonly samplesPerSec: number | null;
  /** Last change to metrics.jsonl (ms since the epoch). */
  readonly updated: number | null;
}

export interface RunDetail extends RunInfo {
  readonly config: Readonly<Record<string, unknown>>;
  readonly summary: Readonly<Record<string, unknown>> | null;
  readonly metrics: readonly MetricRecord[];
  /** Bytes of metrics.jsonl read (whole lines): where a live stream goes on from. */
  readonly metricsOffset: number;
  /** Steps with a sample grid (samples/<step>.png), oldest first. */
  readonly samples: readonly number[];
  readonly checkpoints: readonly number[];
  /** Skipped batches (metrics.jsonl) and the run's warnings (events.jsonl). */
  readonly warnings: readonly { readonly step: number; readonly message: string }[];
  /** Actor restarts (events.jsonl), with the step the run had reached when each was made. */
  readonly restarts: readonly { readonly step: number; readonly actor: string; readonly cause: string; readonly attempt: number }[];
  /** Which worker holds each actor, from the last start (events.jsonl); null for runs that did not record it. */
  readonly placement: Readonly<Record<string, number>> | null;
}

/** What the dashboard reads of events.jsonl: the last start's placement, the restarts and warnings, each at the step reached. */
export function parseEvents(text: string): Pick<RunDetail, 'placement' | 'restarts' | 'warnings'> {
  let placement: Record<string, number> | null = null;
  let step = 0;
  const restarts: RunDetail['restarts'][number][] = [];
  const warnings: RunDetail['warnings'][number][] = [];
  for (const line of text.split('\n')) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (e['type'] === 'start') {
      placement = (e['placement'] as Record<string, number> | undefined) ?? null;
      step = typeof e['startStep'] === 'number' ? e['startStep'] : step;
    } else if (e['type'] === 'checkpoint' && typeof e['step'] === 'number') step = e['step'];
    else if (e['type'] === 'restart') {
      restarts.push({ step: typeof e['step'] === 'number' ? e['step'] : step, actor: String(e['actor']), cause: String(e['cause']), attempt: Number(e['attempt']) });
    } else if (e['type'] === 'warning' && !String(e['message']).startsWith('skipped batch at step')) {
      warnings.push({ step: typeof e['step'] === 'number' ? e['step'] : step, message: String(e['message']) });
    }
  }
  return { placement, restarts, warnings };
}

/** A run name is one folder of the runs directory: nothing that could climb out of it. */
export function isRunName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && !name.includes('..');
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    // Missing, or being rewritten this instant: the next poll reads it.
    return null;
  }
}

/** The records of a metrics.jsonl text; a half-written last line is left for the next read. */
export function parseMetrics(text: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as Partial<MetricRecord>;
      if (typeof r.step === 'number' && r.losses && typeof r.losses === 'object') out.push(r as MetricRecord);
    } catch {
      continue;
    }
  }
  return out;
}

/** Whether the process named in run.lock still runs (on this host; another host's lock counts as running). */
async function lockAlive(dir: string): Promise<boolean> {
  const lock = (await readJson(join(dir, LOCK_FILE))) as Partial<LockInfo> | null;
  if (!lock || typeof lock.pid !== 'number') return false;
  return lock.hostname !== hostname() || isProcessAlive(lock.pid);
}

function stateOf(summary: Record<string, unknown> | null, alive: boolean): RunState {
  if (alive) return 'running';
  if (summary) return summary['stopped'] === true ? 'stopped' : 'done';
  // No summary and no live writer: the process died (or failed) before the end.
  return 'failed';
}

async function readRun(root: string, name: string, withDetail: boolean): Promise<RunDetail | undefined> {
  const dir = join(root, name);
  const config = await readJson(join(dir, CONFIG_FILE));
  if (!config) return undefined;
  const [summary, alive, text, info] = await Promise.all([
    readJson(join(dir, SUMMARY_FILE)),
    lockAlive(dir),
    readFile(join(dir, METRICS_FILE), 'utf8').catch(() => ''),
    stat(join(dir, METRICS_FILE)).catch(() => undefined),
  ]);
  const metrics = parseMetrics(text);
  const last = metrics.at(-1);
  const total = summary?.['totalSteps'] ?? config['steps'];
  const run: RunInfo = {
    name,
    model: String(config['model']),
    strategy: String(summary?.['strategy'] ?? config['strategy']),
    backend: String(summary?.['backend'] ?? config['backend']),
    workers: typeof summary?.['workers'] === 'number' ? (summary['workers'] as number) : typeof config['workers'] === 'number' ? (config['workers'] as number) : null,
    step: last?.step ?? 0,
    totalSteps: typeof total === 'number' ? total : null,
    state: stateOf(summary, alive),
    losses: last?.losses ?? {},
    samplesPerSec: last?.samplesPerSec ?? null,
    updated: info?.mtimeMs ?? null,
  };
  if (!withDetail) return { ...run, config: {}, summary: null, metrics: [], metricsOffset: 0, samples: [], checkpoints: [], warnings: [], restarts: [], placement: null };
  const recorded = parseEvents(await readFile(join(dir, EVENTS_FILE), 'utf8').catch(() => ''));
  const samples = (await readdir(join(dir, 'samples')).catch(() => [] as string[]))
    .map((f) => /^(\d+)\.png$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return {
    ...run,
    config,
    summary,
    metrics,
    metricsOffset: Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)),
    samples,
    checkpoints: await listCheckpoints(dir),
    warnings: [
      ...metrics.filter((m) => m.skipped).map((m) => ({ step: m.step, message: `skipped batch at step ${m.step}: a NaN or Inf loss` })),
      ...recorded.warnings,
    ],
    restarts: recorded.restarts,
    placement: recorded.placement,
  };
}

/** Every run directory directly under `root`, newest change first. */
export async function listRuns(root: string): Promise<RunInfo[]> {
  const names = await readdir(root, { withFileTypes: true }).catch(() => []);
  const runs = await Promise.all(names.filter((d) => d.isDirectory() && isRunName(d.name)).map((d) => readRun(root, d.name, false)));
  return runs
    .filter((r): r is RunDetail => r !== undefined)
    .map(({ config: _c, summary: _s, metrics: _m, metricsOffset: _o, samples: _p, checkpoints: _k, warnings: _w, restarts: _r, placement: _l, ...info }) => info)
    .sort((a, b) => (b.updated ?? 0) - (a.updated ?? 0));
}

/** One run with its metrics, samples, checkpoints and config; undefined when `name` is not a run of `root`. */
export function runDetail(root: string, name: string): Promise<RunDetail | undefined> {
  return isRunName(name) ? readRun(root, name, true) : Promise.resolve(undefined);
}

/** bench.json files in `root` and its folders that are not runs: name → path. */
export async function benchFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const top = join(root, 'bench.json');
  if (await stat(top).then(() => true, () => false)) out.set('bench', top);
  for (const d of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!d.isDirectory() || !isRunName(d.name)) continue;
    const path = join(root, d.name, 'bench.json');
    if (await stat(path).then(() => true, () => false)) out.set(d.name, path);
  }
  return out;
}
