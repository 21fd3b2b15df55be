/**
 * A training run: `train(config)` starts one and returns at once with its
 * event stream, a promise of its summary, and `stop()`.
 *
 * The run loop owns the run directory (config, metrics, checkpoints, sample
 * grids, summary), the events, the NaN policy and stopping; the engine of the
 * chosen strategy owns networks, optimizers, data and step randomness.
 */
import { join } from 'node:path';
import { Subject, type Observable } from 'rxjs';
import { useBackend, type BackendInfo } from '../backend/index.js';
import { IN_MEMORY, inMemoryDataset, loadDataset, type Dataset, type InMemoryDataset } from '../data/index.js';
import { errors, ParagenError } from '../errors.js';
import type { Cluster } from '../cluster/cluster.js';
import { createEngine, type ActorEngineHooks, type Engine } from '../parallel/index.js';
import { clusterHooks, clusterHosts, joinRunCluster } from './cluster-run.js';
import { loadLatestCheckpoint, writeCheckpoint } from './checkpoint.js';
import { parseConfig } from './config.js';
import type { ConfigValues, RunConfig, RunConfigInput } from './config-schema.js';
import type { RunEvent } from './events.js';
import { fsFault } from './fs-fault.js';
import { Grids } from './grids.js';
import { writeLossChart } from './loss-chart.js';
import { iterable, type Iterable$ } from './iterate.js';
import { openRunDir, withResumedRun, type RunDir } from './run-dir.js';
import { Throughput } from './throughput.js';

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
  /**
   * Typed events (a discriminated union on `type`); subscribe, or `for await`,
   * before the first `await`. It completes after `end`; a failed run emits
   * `error` and then errors with the same `ParagenError`.
   */
  readonly events$: Iterable$<RunEvent>;
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
  readonly engine?: (config: RunConfig, dataset: Dataset, hooks?: ActorEngineHooks) => Promise<Engine>;
  /** Aborting it stops the run as `stop()` does: the step in flight finishes, then a checkpoint. */
  readonly signal?: AbortSignal;
}

/**
 * What `train()` takes: a run's settings (`RunConfig`, any subset) where
 * `dataset` may also be images in memory (`{ images, shape }`).
 */
export type TrainInput = Omit<RunConfigInput, 'dataset'> & { readonly dataset?: RunConfigInput['dataset'] | InMemoryDataset };

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
 * for await (const e of run.events$) if (e.type === 'step') console.log(e.step, e.losses.loss);
 * const summary = await run.done;
 */
export function train(input: TrainInput, options: TrainOptions = {}): Run {
  const events = new Subject<RunEvent>();
  let stopRequested = false;
  const { signal } = options;
  if (signal?.aborted) stopRequested = true;
  else signal?.addEventListener('abort', () => (stopRequested = true), { once: true });
  // Start on the next turn, so that a caller subscribing right after train() sees `start`.
  const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
    runLoop(input, options, events, () => stopRequested),
  );
  // Nobody may be listening to `done` (events only): don't crash the process on its rejection.
  done.catch(() => undefined);
  return {
    events$: iterable(events.asObservable()),
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

/** The config of a run, validated (strategy included) before anything is written: on resume, over the run's own config.json. */
async function resolveConfig(input: RunConfigInput): Promise<RunConfig> {
  return parseConfig(await withResumedRun(input as ConfigValues), 'api');
}

/** The settings and the data: an in-memory dataset is recorded in config.json by name only, and must be passed again on resume. */
async function resolveInput(input: TrainInput): Promise<{ config: RunConfig; dataset: Dataset }> {
  const given = input.dataset;
  if (given === undefined || typeof given === 'string') {
    const config = await resolveConfig(input as RunConfigInput);
    if (config.dataset === IN_MEMORY) {
      throw errors.invalidValue('dataset', `the images this run trained on, passed again as { images, shape } (its config.json says '${IN_MEMORY}')`, IN_MEMORY);
    }
    return { config, dataset: loadDataset(config.dataset) };
  }
  const dataset = inMemoryDataset(given);
  const config = await resolveConfig({ ...input, dataset: IN_MEMORY } as RunConfigInput);
  return { config, dataset };
}

/** A run once its directory is open: what the phases after `open` share. */
interface OpenRun {
  readonly config: RunConfig;
  readonly backend: BackendInfo;
  readonly runDir: RunDir;
  readonly engine: Engine;
  readonly grids: Grids;
  readonly totalSteps: number;
  /** Where training stands: updated by every step, read by `salvage` after a failure. */
  progress: Progress;
  losses: Record<string, number>;
  lastCheckpoint: string;
  lastGrid: string;
}

/**
 * The run loop, as four phases: prepare (settings, backend, data: nothing
 * written yet), open (the run directory, the engine, a resume), train (the
 * steps, with checkpoints and grids on their schedules) and close (the
 * final checkpoint, grid and summary). A failure in any phase ends the run
 * with an `error` event; after an actor failure the supervisor's last
 * consistent state is still written.
 */
async function runLoop(
  input: TrainInput,
  options: TrainOptions,
  events: Subject<RunEvent>,
  stopRequested: () => boolean,
): Promise<RunSummary> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const opened: Opened = {};
  try {
    const prepared = await prepare(input);
    const run = await open(prepared, options, events, opened);
    const throughput = await trainSteps(run, events, clock, stopRequested);
    const summary = await close(run, events, throughput, (clock() - started) / 1000);
    events.complete();
    return summary;
  } catch (error) {
    const failure =
      error instanceof ParagenError
        ? error
        : (fsFault(error, { path: (error as { path?: string }).path ?? opened.runDir?.path ?? '.', action: 'write to the run directory', runDir: opened.runDir?.path }) ??
          errors.internal(error instanceof Error ? error.message : String(error), error));
    // An actor that exhausted its restarts: keep what the supervisor still holds.
    if (failure.code === 'ACTOR_FAILED' && opened.run) {
      await salvage(opened.run, events).catch((e: unknown) =>
        events.next({ type: 'warning', message: `could not write a checkpoint after the failure: ${(e as Error).message}` }),
      );
    }
    events.next({ type: 'error', message: failure.message, code: failure.code });
    events.error(failure);
    throw failure;
  } finally {
    await opened.grids?.close().catch(() => undefined);
    await opened.engine?.close().catch(() => undefined);
    await opened.cluster?.close().catch(() => undefined);
    await opened.runDir?.close().catch(() => undefined);
  }
}

/** What a run has opened so far: closed in reverse, whatever happens. */
interface Opened {
  run?: OpenRun;
  runDir?: RunDir;
  engine?: Engine;
  grids?: Grids;
  cluster?: Cluster;
}

/** Everything that can be refused, refused before anything is written: the settings, the backend, the data. */
async function prepare(input: TrainInput): Promise<{ config: RunConfig; backend: BackendInfo; dataset: Dataset }> {
  const { config, dataset } = await resolveInput(input);
  const backend = await useBackend(config.backend);
  return { config, backend, dataset };
}

/** The run directory (locked), its config, the engine and its grids, and on resume the last good checkpoint; then `start`. */
async function open(
  { config, backend, dataset }: { config: RunConfig; backend: BackendInfo; dataset: Dataset },
  options: TrainOptions,
  events: Subject<RunEvent>,
  opened: Opened,
): Promise<OpenRun> {
  // A cluster that cannot be joined is refused before the run directory exists.
  const cluster = config.cluster === undefined ? undefined : (opened.cluster = await joinRunCluster(config, events));
  const runDir = (opened.runDir = await openRunDir({ model: config.model, out: config.resume ?? config.out, resume: config.resume !== undefined }));
  // Everything but steps and grids (metrics.jsonl and samples/ hold those) goes to events.jsonl, for the dashboard.
  let reached = 0;
  const record = events.subscribe({
    next: (e) => {
      if (e.type === 'step') reached = e.step;
      if (e.type === 'step' || e.type === 'sample') return;
      try {
        // Each line says the last step done when it happened (a restart's own event does not).
        runDir.events.append({ step: reached, ...e, time: new Date().toISOString() });
      } catch (error) {
        // A view for the dashboard, not the run's state: a disk that refuses it fails the next checkpoint or metrics line, which say so.
        void error;
      }
    },
    error: () => record.unsubscribe(),
  });
  if (runDir.lock.tookOverFrom) events.next({ type: 'warning', message: runDir.lock.takeOverNote() });
  await runDir.writeConfig(config);
  const engine = (opened.engine = await (options.engine ?? createEngine)(config, dataset, cluster ? clusterHooks(cluster) : undefined));
  const relay = engine.events$.subscribe((e) => events.next(e));
  events.subscribe({ complete: () => relay.unsubscribe(), error: () => relay.unsubscribe() });
  const grids = (opened.grids = new Grids(runDir, engine, config, backend.name, events));
  const progress = config.resume !== undefined ? await restore(runDir, engine, events) : freshProgress();
  const totalSteps = config.steps ?? (config.epochs ?? 1) * engine.stepsPerEpoch;
  const run: OpenRun = (opened.run = { config, backend, runDir, engine, grids, totalSteps, progress, losses: {}, lastCheckpoint: '', lastGrid: '' });
  events.next({
    type: 'start',
    config,
    placement: engine.placement,
    ...(cluster ? { hosts: clusterHosts(cluster) } : {}),
    backend: { name: backend.name, reason: backend.reason },
    strategy: engine.strategy,
    runDir: runDir.path,
    totalSteps,
    startStep: progress.step,
  });
  return run;
}

/** Steps until the run's length or a stop, with the NaN policy, metrics, and checkpoints and grids when due. */
async function trainSteps(run: OpenRun, events: Subject<RunEvent>, clock: () => number, stopRequested: () => boolean): Promise<Throughput> {
  const { config, engine, runDir, totalSteps } = run;
  const throughput = new Throughput(clock);
  while (run.progress.step < totalSteps && !stopRequested()) {
    // An in-process step never waits on I/O; yield to the event loop so that
    // signals, timers (the progress bar) and stop() are seen between steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const result = await engine.step();
    const step = run.progress.step + 1;
    run.progress = { ...run.progress, step, samples: run.progress.samples + result.samples };
    throughput.tick(result.samples);
    if (result.nonFinite) {
      const { network, what } = result.nonFinite;
      if (config.onNan === 'stop') throw errors.nonFinite(network, step, what);
      run.progress = { ...run.progress, skippedBatches: run.progress.skippedBatches + 1 };
      events.next({ type: 'warning', step, message: `skipped batch at step ${step}: ${what} of ${network} is NaN or Inf` });
    } else {
      run.losses = { ...result.losses };
    }
    const samplesPerSec = throughput.recentRate();
    events.next({ type: 'step', step, epoch: result.epoch + 1, losses: result.losses, samplesPerSec });
    runDir.metrics.append({ step, time: new Date().toISOString(), epoch: result.epoch + 1, losses: result.losses, samplesPerSec, skipped: Boolean(result.nonFinite) });
    if (step % config.checkpointEvery === 0 && step < totalSteps) {
      run.lastCheckpoint = await checkpoint(runDir, engine, run.progress, config.keep, events);
    }
    if (config.sampleEvery > 0 && step % config.sampleEvery === 0 && step < totalSteps) {
      run.lastGrid = await run.grids.write(step);
    }
  }
  return throughput;
}

/** The final state: a checkpoint and a grid at the step the run ended on, then the summary and `end`. */
async function close(run: OpenRun, events: Subject<RunEvent>, throughput: Throughput, wallSeconds: number): Promise<RunSummary> {
  const { config, engine, runDir, progress, totalSteps } = run;
  if (!run.lastCheckpoint.endsWith(`/${progress.step}`)) {
    run.lastCheckpoint = await checkpoint(runDir, engine, progress, config.keep, events);
  }
  if (!run.lastGrid.endsWith(`/${progress.step}.png`)) run.lastGrid = await run.grids.write(progress.step);
  await run.grids.settle();
  runDir.metrics.sync();
  await writeLossChart(runDir.path, `${config.model}: losses by step (${runDir.path})`);
  const summary: RunSummary = {
    runDir: runDir.path,
    model: config.model,
    backend: run.backend.name,
    strategy: engine.strategy.name,
    workers: engine.strategy.workers,
    steps: progress.step,
    totalSteps,
    samplesPerSec: throughput.steadyRate(),
    wallSeconds,
    losses: run.losses,
    skippedBatches: progress.skippedBatches,
    stopped: progress.step < totalSteps,
    checkpoint: run.lastCheckpoint,
    sampleGrid: run.lastGrid,
  };
  await runDir.writeSummary({ ...summary });
  events.next({ type: 'end', steps: summary.steps, samplesPerSec: summary.samplesPerSec, wallSeconds: summary.wallSeconds, runDir: runDir.path });
  return summary;
}

function freshProgress(): Progress {
  return { format: 'paragen-progress', step: 0, samples: 0, skippedBatches: 0 };
}

/**
 * After an unrecoverable actor failure: a checkpoint of the engine's last
 * consistent state, labelled with the step it describes (`stateStep`).
 */
async function salvage(run: OpenRun, events: Subject<RunEvent>): Promise<void> {
  const { engine, progress: now, config } = run;
  const step = engine.stateStep ?? now.step;
  if (step === 0) return;
  const behind = now.step - step;
  const progress: Progress = { ...now, step, samples: now.samples - behind * config.batchSize };
  await checkpoint(run.runDir, engine, progress, config.keep, events);
}

/** Restores the newest good checkpoint (reporting any skipped one); returns the progress it holds. */
async function restore(runDir: RunDir, engine: Engine, events: Subject<RunEvent>): Promise<Progress> {
  const { checkpoint, warnings } = await loadLatestCheckpoint(runDir.path);
  for (const w of warnings) events.next({ type: 'warning', message: w.message });
  if (!checkpoint) {
    events.next({ type: 'warning', message: `no usable checkpoint in ${runDir.path}: starting from step 0` });
    await runDir.metrics.rewind(0);
    return freshProgress();
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

