/**
 * A training run: `train(config)` starts one and returns at once with its
 * event stream, a promise of its summary, and `stop()`.
 *
 * The run loop owns the run directory (config, metrics, checkpoints, sample
 * grids, summary), the events, the NaN policy and stopping; the engine of the
 * chosen strategy owns networks, optimizers, data and step randomness.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Subject, type Observable } from 'rxjs';
import { useBackend, type BackendInfo, type BackendName } from '../backend/index.js';
import { imageGrid, loadDataset, writePng, type Dataset } from '../data/index.js';
import { errors, ParagenError } from '../errors.js';
import { SamplePool } from '../eval/sample-pool.js';
import { createEngine, planStrategy, type Engine } from '../parallel/index.js';
import { loadLatestCheckpoint, writeCheckpoint } from './checkpoint.js';
import { parseConfig, mergeConfig } from './config.js';
import { FIELD_NAMES, field, modelFamily, type RunConfig, type RunConfigInput, type ConfigValues } from './config-schema.js';
import type { RunEvent } from './events.js';
import { writeLossChart } from './loss-chart.js';
import { openRunDir, readRunConfigValues, type RunDir } from './run-dir.js';

/** What a finished (or stopped) run reports, and writes as `summary.json`. */
export interface RunSummary {
  readonly runDir: string;
  readonly model: string;
  readonly backend: string;
  readonly strategy: string;
  readonly workers: number;
  /** Steps done in total, including those before a resume. */
  readonly steps: number;
  readonly totalSteps: number;
  /** Steady-state throughput of this invocation, after warm-up. */
  readonly samplesPerSec: number;
  readonly wallSeconds: number;
  /** The last step's losses. */
  readonly losses: Readonly<Record<string, number>>;
  /** Batches skipped for a NaN or Inf under `onNan: 'skip'`. */
  readonly skippedBatches: number;
  /** True when `stop()` (or a signal) ended the run before `totalSteps`. */
  readonly stopped: boolean;
  readonly checkpoint: string;
  readonly sampleGrid: string;
}

export interface Run {
  /** Typed events (a discriminated union on `type`); subscribe before the first `await`. */
  readonly events$: Observable<RunEvent>;
  /** Resolves with the summary; rejects with a `ParagenError`. */
  readonly done: Promise<RunSummary>;
  /** Finishes the step in flight, writes a checkpoint, stops every actor; resolves when done settles. */
  stop(): Promise<void>;
}

/** Test and embedding hooks. */
export interface TrainOptions {
  /** Milliseconds, monotonic; default `performance.now`. */
  readonly clock?: () => number;
  /** Builds the strategy's engine; default `createEngine`. */
  readonly engine?: (config: RunConfig, dataset: Dataset) => Promise<Engine>;
}

/** Images in each sample grid, and the noise seed offset that keeps grids comparable across steps. */
const GRID_IMAGES = 64;
const GRID_SEED_OFFSET = 0x5eed;

/** Recent steps that the per-step throughput averages over. */
const RATE_WINDOW = 20;
/** Steps excluded from the steady-state throughput: the first pay for kernel setup, operator caches and JIT. */
const WARMUP_STEPS = 3;

interface Progress {
  format: 'paragen-progress';
  step: number;
  samples: number;
  skippedBatches: number;
}

const PROGRESS_FILE = 'progress.json';

/**
 * Starts a training run.
 *
 * @example
 * const run = train({ model: 'vae-mlp', steps: 200 });
 * run.events$.subscribe((e) => { if (e.type === 'step') console.log(e.step, e.losses.loss); });
 * const summary = await run.done;
 */
export function train(input: RunConfigInput, options: TrainOptions = {}): Run {
  const events = new Subject<RunEvent>();
  let stopRequested = false;
  // Start on the next turn, so that a caller subscribing right after train() sees `start`.
  const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
    runLoop(input, options, events, () => stopRequested),
  );
  // Nobody may be listening to `done` (events only): don't crash the process on its rejection.
  done.catch(() => undefined);
  return {
    events$: events.asObservable(),
    done,
    async stop() {
      stopRequested = true;
      await done.then(
        () => undefined,
        () => undefined,
      );
    },
  };
}

/** The config of a run: on resume, the run's own config.json overridden by the given values. */
async function resolveConfig(input: RunConfigInput): Promise<RunConfig> {
  const given = input as ConfigValues;
  if (given.resume === undefined) return parseConfig(input, 'api');
  const saved: Record<string, unknown> = { ...(await readRunConfigValues(given.resume)) };
  for (const name of FIELD_NAMES) if (field(name).transient) delete saved[name];
  return parseConfig(mergeConfig(saved as ConfigValues, given), 'api');
}

async function runLoop(
  input: RunConfigInput,
  options: TrainOptions,
  events: Subject<RunEvent>,
  stopRequested: () => boolean,
): Promise<RunSummary> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  let runDir: RunDir | undefined;
  let engine: Engine | undefined;
  let grids: Grids | undefined;
  let state: { progress: Progress; keep: number; batchSize: number } | undefined;
  try {
    const config = await resolveConfig(input);
    // Refuse an impossible strategy before anything is written.
    planStrategy({ model: config.model, strategy: config.strategy, workers: config.workers, host: config.host });
    const backend = await useBackend(config.backend);
    const dataset = loadDataset(config.dataset);
    runDir = await openRunDir({ model: config.model, out: config.resume ?? config.out, resume: config.resume !== undefined });
    await runDir.writeConfig(config);
    engine = await (options.engine ?? createEngine)(config, dataset);
    const sub = engine.events$.subscribe((e) => events.next(e));
    grids = new Grids(runDir, engine, config, backend.name, events);

    let progress: Progress = { format: 'paragen-progress', step: 0, samples: 0, skippedBatches: 0 };
    if (config.resume !== undefined) progress = await restore(runDir, engine, events);

    state = { progress, keep: config.keep, batchSize: config.batchSize };
    const totalSteps = config.steps ?? (config.epochs ?? 1) * engine.stepsPerEpoch;
    events.next({
      type: 'start',
      config,
      placement: engine.placement,
      backend: { name: backend.name, reason: backend.reason },
      strategy: engine.strategy,
      runDir: runDir.path,
      totalSteps,
      startStep: progress.step,
    });

    const loop = new Loop(clock);
    let losses: Record<string, number> = {};
    let lastCheckpoint = '';
    let lastGrid = '';
    while (progress.step < totalSteps && !stopRequested()) {
      // An in-process step never waits on I/O; yield to the event loop so that
      // signals, timers (the progress bar) and stop() are seen between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const result = await engine.step();
      const step = progress.step + 1;
      progress = { ...progress, step, samples: progress.samples + result.samples };
      state.progress = progress;
      loop.tick(result.samples);
      if (result.nonFinite) {
        const { network, what } = result.nonFinite;
        if (config.onNan === 'stop') throw errors.nonFinite(network, step, what);
        progress = { ...progress, skippedBatches: progress.skippedBatches + 1 };
        state.progress = progress;
        events.next({ type: 'warning', step, message: `skipped batch at step ${step}: ${what} of ${network} is NaN or Inf` });
      } else {
        losses = { ...result.losses };
      }
      const samplesPerSec = loop.recentRate();
      events.next({ type: 'step', step, epoch: result.epoch + 1, losses: result.losses, samplesPerSec });
      runDir.metrics.append({ step, time: new Date().toISOString(), epoch: result.epoch + 1, losses: result.losses, samplesPerSec, skipped: Boolean(result.nonFinite) });
      if (step % config.checkpointEvery === 0 && step < totalSteps) {
        lastCheckpoint = await checkpoint(runDir, engine, progress, config.keep, events);
      }
      if (config.sampleEvery > 0 && step % config.sampleEvery === 0 && step < totalSteps) {
        lastGrid = await grids.write(step);
      }
    }

    // The final state: a checkpoint and a grid at the step the run ended on.
    if (!lastCheckpoint.endsWith(`/${progress.step}`)) {
      lastCheckpoint = await checkpoint(runDir, engine, progress, config.keep, events);
    }
    if (!lastGrid.endsWith(`/${progress.step}.png`)) lastGrid = await grids.write(progress.step);
    await grids.settle();
    runDir.metrics.sync();
    await writeLossChart(runDir.path, `${config.model}: losses by step (${runDir.path})`);
    const summary: RunSummary = {
      runDir: runDir.path,
      model: config.model,
      backend: backend.name,
      strategy: engine.strategy.name,
      workers: engine.strategy.workers,
      steps: progress.step,
      totalSteps,
      samplesPerSec: loop.steadyRate(),
      wallSeconds: (clock() - started) / 1000,
      losses,
      skippedBatches: progress.skippedBatches,
      stopped: progress.step < totalSteps,
      checkpoint: lastCheckpoint,
      sampleGrid: lastGrid,
    };
    await runDir.writeSummary({ ...summary });
    events.next({ type: 'end', steps: summary.steps, samplesPerSec: summary.samplesPerSec, wallSeconds: summary.wallSeconds, runDir: runDir.path });
    sub.unsubscribe();
    events.complete();
    return summary;
  } catch (error) {
    const failure =
      error instanceof ParagenError ? error : errors.internal(error instanceof Error ? error.message : String(error), error);
    // An actor that exhausted its restarts: keep what the supervisor still holds.
    if (failure.code === 'ACTOR_FAILED' && engine && runDir && state) {
      await salvage(runDir, engine, state, events).catch((e: unknown) =>
        events.next({ type: 'warning', message: `could not write a checkpoint after the failure: ${(e as Error).message}` }),
      );
    }
    events.next({ type: 'error', message: failure.message, code: failure.code });
    events.complete();
    throw failure;
  } finally {
    await grids?.close().catch(() => undefined);
    await engine?.close().catch(() => undefined);
    await runDir?.close().catch(() => undefined);
  }
}

/**
 * After an unrecoverable actor failure: a checkpoint of the engine's last
 * consistent state, labelled with the step it describes (`stateStep`).
 */
async function salvage(
  runDir: RunDir,
  engine: Engine,
  state: { progress: Progress; keep: number; batchSize: number },
  events: Subject<RunEvent>,
): Promise<void> {
  const step = engine.stateStep ?? state.progress.step;
  if (step === 0) return;
  const behind = state.progress.step - step;
  const progress: Progress = { ...state.progress, step, samples: state.progress.samples - behind * state.batchSize };
  await checkpoint(runDir, engine, progress, state.keep, events);
}

/** Restores the newest good checkpoint (reporting any skipped one); returns the progress it holds. */
async function restore(runDir: RunDir, engine: Engine, events: Subject<RunEvent>): Promise<Progress> {
  const { checkpoint, warnings } = await loadLatestCheckpoint(runDir.path);
  for (const w of warnings) events.next({ type: 'warning', message: w.message });
  const fresh: Progress = { format: 'paragen-progress', step: 0, samples: 0, skippedBatches: 0 };
  if (!checkpoint) {
    events.next({ type: 'warning', message: `no usable checkpoint in ${runDir.path}: starting from step 0` });
    await runDir.metrics.rewind(0);
    return fresh;
  }
  await engine.restore(checkpoint.files);
  const progress = JSON.parse(checkpoint.text(PROGRESS_FILE)) as Progress;
  if (progress.format !== 'paragen-progress' || progress.step !== checkpoint.step) {
    throw errors.checkpoint(`${join(checkpoint.path, PROGRESS_FILE)} does not describe step ${checkpoint.step}`);
  }
  await runDir.metrics.rewind(progress.step);
  return progress;
}

async function checkpoint(
  runDir: RunDir,
  engine: Engine,
  progress: Progress,
  keep: number,
  events: Subject<RunEvent>,
): Promise<string> {
  const files = await engine.save();
  files[PROGRESS_FILE] = JSON.stringify(progress);
  runDir.metrics.sync();
  const written = await writeCheckpoint(runDir.path, progress.step, files, { keep });
  events.next({ type: 'checkpoint', step: progress.step, path: written.path });
  return written.path;
}

async function sampleGrid(runDir: RunDir, engine: Engine, step: number, seed: number, events: Subject<RunEvent>): Promise<string> {
  const images = await engine.sample(GRID_IMAGES, (seed + GRID_SEED_OFFSET) >>> 0);
  await mkdir(runDir.samplesDir, { recursive: true });
  const path = join(runDir.samplesDir, `${step}.png`);
  writePng(path, imageGrid(images, GRID_IMAGES, 28, 28, 1));
  events.next({ type: 'sample', step, path });
  return path;
}

/**
 * Sample grids as tasks off the training path. The engine hands over the
 * image network's weights (free when its supervisor's snapshot is of this
 * step), and a one-thread pool rebuilds the network, draws the grid and
 * writes the PNG while training goes on; `sample` is emitted once the file is
 * written, and the run waits for every grid before it ends. Engines without
 * `networkWeights`, and native backends (which cannot load in a worker
 * thread), sample inline as before.
 */
class Grids {
  /** The last grid's task: each starts when the one before is written, so `sample` events come in step order. */
  #last: Promise<void> = Promise.resolve();
  #pool: SamplePool | undefined;
  #failure: { error: unknown } | undefined;

  constructor(
    private readonly runDir: RunDir,
    private readonly engine: Engine,
    private readonly config: RunConfig,
    private readonly backend: BackendName,
    private readonly events: Subject<RunEvent>,
  ) {}

  /** Starts the grid of `step`; resolves with its path once it is under way (inline: once written). */
  async write(step: number): Promise<string> {
    this.#rethrow();
    const { runDir, engine, config, events } = this;
    if (!engine.networkWeights || (this.backend !== 'wasm' && this.backend !== 'cpu')) {
      return sampleGrid(runDir, engine, step, config.seed, events);
    }
    const weights = await engine.networkWeights(modelFamily(config.model) === 'gan' ? 'generator' : 'decoder');
    const path = join(runDir.samplesDir, `${step}.png`);
    const pool = (this.#pool ??= new SamplePool(1, { background: true }));
    const source = { model: config.model, weights, backend: this.backend };
    const seed = (config.seed + GRID_SEED_OFFSET) >>> 0;
    this.#last = this.#last
      .then(() => pool.grid(source, GRID_IMAGES, seed, path))
      .then(
        () => void events.next({ type: 'sample', step, path }),
        (error: unknown) => void (this.#failure ??= { error }),
      );
    return path;
  }

  /** Waits for every grid in flight; a grid that failed fails the run. */
  async settle(): Promise<void> {
    await this.#last;
    this.#rethrow();
  }

  async close(): Promise<void> {
    await this.#pool?.close();
  }

  #rethrow(): void {
    if (this.#failure) throw this.#failure.error;
  }
}

/** Throughput bookkeeping: a sliding window for step events, and a steady-state figure after warm-up. */
class Loop {
  readonly #clock: () => number;
  readonly #times: number[] = [];
  readonly #samples: number[] = [];
  #steadyFrom: { time: number; samples: number } | undefined;
  #total = 0;
  #steps = 0;
  readonly #started: number;

  constructor(clock: () => number) {
    this.#clock = clock;
    this.#started = clock();
  }

  tick(samples: number): void {
    const now = this.#clock();
    this.#steps++;
    this.#total += samples;
    this.#times.push(now);
    this.#samples.push(this.#total);
    if (this.#times.length > RATE_WINDOW + 1) {
      this.#times.shift();
      this.#samples.shift();
    }
    if (this.#steps === WARMUP_STEPS) this.#steadyFrom = { time: now, samples: this.#total };
  }

  recentRate(): number {
    const n = this.#times.length;
    if (n < 2) return this.#steps === 0 ? 0 : (this.#total / Math.max(1e-9, this.#clock() - this.#started)) * 1000;
    return ((this.#samples[n - 1]! - this.#samples[0]!) / Math.max(1e-9, this.#times[n - 1]! - this.#times[0]!)) * 1000;
  }

  steadyRate(): number {
    const now = this.#times.at(-1) ?? this.#clock();
    const from = this.#steadyFrom && this.#total > this.#steadyFrom.samples ? this.#steadyFrom : { time: this.#started, samples: 0 };
    return ((this.#total - from.samples) / Math.max(1e-9, now - from.time)) * 1000;
  }
}
