/**
 * One bench run: the matMul peak, then per model its plain-tfjs baselines and
 * its paragen rows, one measurement at a time (the rows compete for the same
 * cores), then the figures that relate them (utilisation, speedups, curves).
 */
import { cpus, platform } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../backend/index.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { ParagenError } from '../errors.js';
import { modelSpec } from '../models/index.js';
import { createEngine } from '../parallel/index.js';
import { type ModelName } from '../domain.js';
import { FIELDS, type BenchConfig, type RunConfig } from '../run/config-schema.js';
import { runBaseline } from './baseline.js';
import { derive } from './derive.js';
import { stepFlops } from './flops.js';
import { cpuMark, otherLoad } from './load.js';
import { WindowMeter, type Throughput, type WindowBudget } from './measure.js';
import { measurePeak } from './peak.js';
import { classify, combinations, type Classified } from './plan.js';
import type { BenchBudget, BenchResult, BenchRow, ModelFlops, SkippedCombination } from './types.js';

export interface RunContext {
  readonly config: BenchConfig;
  readonly budget: BenchBudget;
  readonly onProgress: (line: string) => void;
  /** Milliseconds, monotonic. */
  readonly clock: () => number;
}

/** Images handed to each baseline child (it cannot read paragen's dataset): plenty for shuffled batches. */
const BASELINE_IMAGES = 8192;

export async function runBench(ctx: RunContext): Promise<Omit<BenchResult, 'files'>> {
  const { config, budget, clock } = ctx;
  const started = clock();
  const date = new Date().toISOString();
  const backend = await useBackend(config.backend);
  const dataset = loadDataset('mnist');
  const flops = config.models.map((model) => modelFlops(model));

  const planned = combinations(config, budget).map((c) => classify(c, config));
  const runnable = planned.filter((c): c is Extract<Classified, { kind: 'runnable' }> => c.kind === 'runnable');
  const skipped: SkippedCombination[] = planned
    .filter((c): c is Extract<Classified, { kind: 'skipped' }> => c.kind === 'skipped')
    .map(({ model, strategy, workers, reason }) => ({ model, strategy, workers, reason }));

  const counts = [...new Set([1, 2, ...runnable.map((c) => c.workers)])].sort((a, b) => a - b);
  ctx.onProgress(`matMul peak: wasm 512×512 on ${counts.join(', ')} worker${counts.length === 1 ? '' : 's'}`);
  const peak = await measurePeak(counts, budget.peakSeconds, budget.peakRepeats);
  ctx.onProgress(`matMul peak: ${peak.map((p) => `${p.workers}: ${p.gflops.toFixed(1)}`).join(', ')} GFLOP/s`);

  const total = config.models.length * 2 + planned.length - skipped.length;
  let index = 0;
  const progress = (label: string, row: BenchRow) => {
    index++;
    const figure = row.samplesPerSec === null ? row.note : `${row.samplesPerSec.toFixed(1)} samples/s${row.note ? ` (${row.note})` : ''}`;
    ctx.onProgress(`[${index}/${total}] ${label}: ${row.status === 'ok' ? '' : `${row.status}: `}${figure} in ${row.seconds.toFixed(1)} s`);
  };

  const rows: BenchRow[] = [];
  const images = baselineImages(dataset);
  for (const model of config.models) {
    for (const tfjsBackend of ['wasm', 'cpu'] as const) {
      const row = await baselineRow(model, tfjsBackend, images, ctx);
      rows.push(row);
      progress(`${model} plain tfjs on ${tfjsBackend}`, row);
    }
    for (const c of planned.filter((p) => p.model === model)) {
      if (c.kind === 'skipped') continue;
      const row = c.kind === 'runnable' ? await engineRow(c.config, c.note, dataset, backend.name, ctx) : unavailable(c, backend.name);
      rows.push(row);
      progress(`${model} ${c.strategy} on ${c.workers} worker${c.workers === 1 ? '' : 's'}`, row);
    }
  }

  const derived = derive(rows, peak, flops, config.models);
  return {
    format: 'paragen-bench',
    date,
    settings: {
      quick: config.quick,
      models: config.models,
      strategies: config.strategies,
      workerCounts: config.workerCounts,
      seed: config.seed,
      backend: config.backend,
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      platform: `${platform()} ${process.arch}`,
      node: process.version,
      tfjs: tf.version.tfjs,
    },
    backend: { name: backend.name, reason: backend.reason },
    peak,
    flops,
    rows: derived.rows,
    scaling: derived.scaling,
    skipped,
    budget,
    wallSeconds: (clock() - started) / 1000,
  };
}

function modelFlops(model: ModelName): ModelFlops {
  const spec = modelSpec(model);
  const models = spec.build(0);
  try {
    const f = stepFlops(spec, models);
    return { model, tape: f.tape, paragen: f.paragen, baseline: f.baseline };
  } finally {
    for (const m of Object.values(models) as tf.LayersModel[]) m.dispose();
  }
}

function baselineImages(dataset: Dataset): Uint8Array {
  const { images } = dataset.train;
  const count = Math.min(BASELINE_IMAGES, dataset.train.count);
  const size = 28 * 28;
  if (images instanceof Uint8Array) return images.slice(0, count * size);
  return Uint8Array.from(images.subarray(0, count * size), (v) => Math.round(v * 255));
}

type RowBase = Pick<BenchRow, 'model' | 'strategy' | 'backend' | 'workers' | 'batchSize'>;

/** A row before the figures that need other rows (utilisation, speedup): `derive` fills those. */
function measuredRow(
  base: RowBase,
  status: BenchRow['status'],
  t: Throughput | undefined,
  note: string,
  seconds: number,
  extra: Partial<Pick<BenchRow, 'bound' | 'bubble' | 'otherCpu'>> = {},
): BenchRow {
  const measured = t !== undefined && t.steps > 0 && (status === 'ok' || status === 'partial');
  const rate = !measured ? null : t.windows.length > 0 ? t.samplesPerSec : t.overallSamplesPerSec;
  return {
    ...base,
    status,
    samplesPerSec: rate,
    bound: extra.bound ?? null,
    bubble: extra.bubble ?? null,
    otherCpu: extra.otherCpu ?? null,
    windows: t?.windows ?? [],
    steps: t?.steps ?? 0,
    warmupSteps: t?.warmupSteps ?? 0,
    gflops: null,
    utilization: null,
    modelUtilization: null,
    speedup: null,
    note: busyNote(note, extra.otherCpu ?? null),
    seconds,
  };
}

/** Other processes above this many cores' worth during a row: the row says so. */
const BUSY = 0.2;

function busyNote(note: string, other: number | null): string {
  if (other === null || other < BUSY) return note;
  return `${note ? `${note}; ` : ''}machine busy: other processes used ${other.toFixed(1)} cores`;
}

async function baselineRow(model: ModelName, backend: 'wasm' | 'cpu', images: Uint8Array, ctx: RunContext): Promise<BenchRow> {
  const spec = modelSpec(model);
  const slow = backend === 'cpu' && spec.kind === 'gan';
  const budget: WindowBudget = slow ? ctx.budget.slowBaseline : ctx.budget.baseline;
  const batchSize = slow ? ctx.budget.slowBatchSize : FIELDS.batchSize.byFamily[spec.kind];
  const started = ctx.clock();
  const from = cpuMark();
  const outcome = await runBaseline({ model, backend, batchSize, budget, images, seed: ctx.config.seed });
  const otherCpu = otherLoad(from, cpuMark(), outcome.cpuSeconds) ?? null;
  const seconds = (ctx.clock() - started) / 1000;
  const base: RowBase = { model, strategy: 'tfjs', backend, workers: 1, batchSize };
  const t = outcome.throughput;
  if (outcome.status === 'failed') return measuredRow(base, 'failed', t, outcome.message, seconds);
  if (t.steps === 0) {
    // Not one step within the bound: what it proves is an upper bound.
    const bound = batchSize / budget.maxSeconds;
    const note = `no step finished in ${budget.maxSeconds} s: under ${bound.toFixed(2)} samples/s`;
    return measuredRow(base, 'partial', t, note, seconds, { bound, otherCpu });
  }
  const note = t.windows.length === 0 ? `${t.steps} step${t.steps === 1 ? '' : 's'}, warm-up included` : slow ? `${t.steps} step${t.steps === 1 ? '' : 's'}, bounded at ${budget.maxSeconds} s` : '';
  return measuredRow(base, outcome.status, t, note, seconds, { otherCpu });
}

/**
 * A paragen row: the strategy's engine on the real MNIST, stepped until the
 * windows close. `backend` is what this thread's `auto` chose; the engine's
 * workers make the same choice.
 */
async function engineRow(config: RunConfig, note: string, dataset: Dataset, backend: string, ctx: RunContext): Promise<BenchRow> {
  const strategy = config.strategy as BenchRow['strategy'];
  const base: RowBase = { model: config.model, strategy, backend, workers: config.workers ?? 1, batchSize: config.batchSize };
  const started = ctx.clock();
  const seconds = () => (ctx.clock() - started) / 1000;
  let meter: WindowMeter | undefined;
  const bubbles: { measured: number; ideal: number }[] = [];
  let otherCpu: number | null = null;
  try {
    const engine = await createEngine(config, dataset);
    // Thread hosts only: a process host's actors would count as other processes.
    const from = config.host === 'thread' ? cpuMark() : undefined;
    try {
      meter = new WindowMeter(ctx.budget.engine, ctx.clock());
      while (!meter.done) {
        const timed = meter.measuring;
        const result = await engine.step();
        meter.record(ctx.clock(), result.samples);
        if (timed && result.bubble) bubbles.push(result.bubble);
      }
      otherCpu = otherLoad(from, cpuMark()) ?? null;
    } finally {
      await engine.close();
    }
    const t = meter.result();
    const bubble =
      bubbles.length === 0
        ? null
        : { measured: bubbles.reduce((a, b) => a + b.measured, 0) / bubbles.length, ideal: bubbles.at(-1)!.ideal };
    const text = bubble ? `${note ? `${note}; ` : ''}bubble ${pct(bubble.measured)} (ideal ${pct(bubble.ideal)})` : note;
    return measuredRow(base, t.truncated ? 'partial' : 'ok', t, text, seconds(), { bubble, otherCpu });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    const status = error instanceof ParagenError && error.code === 'NOT_BUILT' ? 'not-available' : 'failed';
    return measuredRow(base, status, meter?.result(), message, seconds());
  }
}

const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

function unavailable(c: Extract<Classified, { kind: 'not-available' }>, backend: string): BenchRow {
  const batchSize = FIELDS.batchSize.byFamily[modelSpec(c.model).kind];
  const base: RowBase = { model: c.model, strategy: c.strategy, backend, workers: c.workers, batchSize };
  return measuredRow(base, 'not-available', undefined, c.reason, 0);
}
