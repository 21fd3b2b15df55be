/**
 * The actor engine: every strategy — single, data, model, pipeline and data
 * × pipeline (strategy.ts) — over thread or process hosts. The coordinator
 * (this class, in the calling thread) draws each step's plan from
 * `stepRng(seed)` exactly as `LocalEngine` does, asks each replica's data
 * loader for its shard of the batch and the network actors for the step's
 * parts (schedule.ts, pipeline.ts), and applies or discards as one. It also
 * supervises, and checks that replicas stay identical.
 *
 * What each strategy reproduces, for the same seed and global batch:
 * - `single`, `model`: LocalEngine, bit for bit.
 * - `pipeline` (m microbatches): LocalEngine with gradient accumulation over
 *   the same m microbatches (`new LocalEngine(options, dataset, { microbatches: m })`),
 *   bit for bit. For models without batch norm or dropout (the VAEs) that is
 *   the unsplit step up to float rounding. For a GAN, stage 0 is the
 *   generator, stage 1 the discriminator and both losses; the discriminator
 *   takes microbatch c (its real rows and G's fake rows) while the generator
 *   computes c+1; both apply one update after the last microbatch, so every
 *   microbatch — and G's gradient through D — sees D's pre-update weights.
 *   What differs from the unsplit step is batch norm (G normalises each
 *   microbatch with its own statistics, and its moving averages take one
 *   update per microbatch, as Keras does per call) and the dropout masks
 *   (drawn per microbatch, chunks.ts).
 * - `data` (R replicas): LocalEngine up to float rounding for models without
 *   batch norm or dropout: the same batches, noise and eps rows, and each
 *   shard's gradients weighted by its rows, so uneven shards give the global
 *   mean. With batch norm (the DCGANs' generator) each replica normalises
 *   with its shard's statistics — PyTorch DDP without SyncBatchNorm — and
 *   the moving averages take the replicas' weighted mean statistics (the
 *   global batch mean exactly; the shards' mean variance); D's dropout masks
 *   are drawn per shard. Every replica holds the same weights and optimizer
 *   state, bit for bit: checked by checksum every `checksumEvery` steps and
 *   at every save, and a divergence is an error naming the replicas.
 *
 * Supervision. Every `snapshotEvery` steps (and after creation or a restore)
 * the coordinator keeps a snapshot: each network's weights and optimizer
 * state, the data cursor and the step RNG's state. When a worker dies under
 * a request — `process.exit` in it, an uncaught error, its memory limit — the
 * actor that was working there is charged one restart; within its
 * `maxRestarts` budget the worker is revived with fresh actors, EVERY actor
 * is rolled back to the snapshot, and the steps since it are replayed.
 *
 * The guarantee: data order and step plans come from seeded state, and each
 * worker computes deterministically (same backend, same inputs, same
 * results), so after a restart the weights, optimizer state, data cursor and
 * RNG state are exactly — bit for bit — those of a run that never crashed.
 * No step is lost or counted twice: `step()` returns each step's result once,
 * replayed steps are not reported again, and the step in flight is retried.
 * An error an actor throws (as opposed to its worker dying) is not retried:
 * replay would meet it again.
 *
 * With replicas, a death anywhere wakes the replicas waiting for it in an
 * all-reduce (`abortGroup`), and every replica is rolled back together.
 * Replica r's actors are named `<actor>/r` (topology.ts); restart budgets
 * are per actor, and restart events name the role (`decoder`).
 *
 * When a budget is spent, `step()` (and every later call but `save` and
 * `close`) rejects with `errors.actorFailed(actor, cause)`. `save()` then
 * returns the last snapshot — a consistent state as of `stateStep` steps,
 * built in this thread without the dead worker — so the run loop can still
 * write a checkpoint; it must label it with `stateStep`, not its own count.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { Subject, type Subscription } from 'rxjs';
import type { BatchReply } from '../../actors/data-loader.js';
import type { TensorCount } from '../../actors/network.js';
import { ActorDied, ActorSystem, type FaultPlan, type HostKind } from '../actor/index.js';
import { fixes, gpuEnvironment, visibleCudaDevices, type BackendChoice } from '../backend/index.js';
import { BatchSampler, type Cursor, type Dataset } from '../data/index.js';
import { errors, type ParagenError } from '../errors.js';
import { modelSpec, planGanStep, planVaeStep, type ModelSpec, type NetworkName } from '../models/index.js';
import type { Rng, RngState } from '../rng.js';
import type { ActorName, StrategyChoice } from '../run/config-schema.js';
import { abortGroup, isAborted, resetGroup } from './all-reduce.js';
import { checkCount, configFault, filesOf, ownSplit, sharedSplit } from './engine-input.js';
import type { Engine, EngineEvent, StateFiles, StepResult } from './engine.js';
import { checkImageShape, ENGINE_STATE_FILE, stepRng, type EngineOptions } from './local.js';
import { stageZeroOrder, type StageOp } from './pipeline.js';
import { webgpuHosts } from './gpu-hosts.js';
import { checkReplicas } from './replica-check.js';
import { ganStep, settleAll, vaeStep, type NetworkRef, type ReplicaStep, type StepRun, type StepSchedule } from './schedule.js';
import { engineStateFile, snapshotFiles, type Snapshot } from './snapshot.js';
import { StepStats, type EngineStats } from './stats.js';
import { planStrategy, type PipelineSchedule, type StrategyPlan } from './strategy.js';
import { allNetworkRefs, networkRefsOf, roleOf, spawnTopology, type Topology } from './topology.js';

/** What the actor engine reads of a run's config (a `RunConfig` is one). */
export interface ActorEngineOptions extends EngineOptions {
  readonly strategy: StrategyChoice;
  readonly workers?: number;
  readonly host: HostKind;
  readonly backend: BackendChoice;
  /** Pipeline microbatches per replica (default 4; `pipeline` only). */
  readonly microbatches?: number;
  /** Pipeline schedule (default 1f1b). */
  readonly schedule?: PipelineSchedule;
  /** Restarts allowed per actor before the run fails. */
  readonly maxRestarts: number;
  /** Steps between snapshots that a restart rolls back to. */
  readonly snapshotEvery: number;
  /** Batches the data loader keeps ready ahead. */
  readonly prefetch: number;
  /** `crash:<actor>@<step>`: that actor's worker (replica 0's) exits at that step, once. */
  readonly fault?: string;
}

/** Testing and embedding hooks. */
export interface ActorEngineHooks {
  /** A planned fault of any kind (the `fault` option only gives `crash`). */
  readonly fault?: { readonly actor: ActorName; readonly plan: FaultPlan };
  /** Thread hosts: limits of each worker thread. */
  readonly resourceLimits?: ResourceLimits;
  /** Cores `auto` plans for (default: this machine's). */
  readonly cores?: number;
  /** Steps between the replicas' checksum comparisons (default 50; also at every save). */
  readonly checksumEvery?: number;
  /** Called once the actors are up, with every network actor by name (tests reach a replica through it). */
  readonly onSpawn?: (networks: ReadonlyMap<string, NetworkRef>) => void;
  /** webgpu: keep actors in thread hosts instead of process hosts (gpu-hosts.ts says why they move). */
  readonly webgpuThreads?: boolean;
}

const CHECKSUM_EVERY = 50;

export class ActorEngine implements Engine {
  readonly placement: Partial<Record<ActorName, number>>;
  readonly stepsPerEpoch: number;
  readonly events$ = new Subject<EngineEvent>();
  /** The strategy, its workers and placement, and why. */
  readonly plan: StrategyPlan;
  get strategy(): { name: string; workers: number; reason: string } {
    return { name: this.plan.strategy, workers: this.plan.workers, reason: this.plan.reason };
  }
  readonly #options: ActorEngineOptions;
  readonly #spec: ModelSpec;
  readonly #system: ActorSystem;
  readonly #topology: Topology;
  /** Replica 0's network actors: what snapshots, saves and samples read. */
  readonly #refs: NetworkRef[];
  /** Every replica's network actors. */
  readonly #all: NetworkRef[];
  readonly #order: readonly StageOp[];
  readonly #checksumEvery: number;
  readonly #stats: StepStats;
  readonly #sampler: BatchSampler;
  readonly #rng: Rng;
  readonly #restarts = new Map<string, number>();
  readonly #events: Subscription;
  #cursor: Cursor = { epoch: 0, index: 0 };
  #done = 0;
  #snapshot: Snapshot | undefined;
  /** The last step's update, sent and not yet awaited. */
  #pending: Promise<void> | undefined;
  /** The next step's shards, asked for ahead. */
  #ahead: { readonly step: number; readonly batches: Promise<BatchReply[]> } | undefined;
  #failure: ParagenError | undefined;
  #busy = false;
  #closing: Promise<void> | undefined;

  private constructor(
    options: ActorEngineOptions,
    parts: { spec: ModelSpec; plan: StrategyPlan; system: ActorSystem; topology: Topology; sampler: BatchSampler; checksumEvery: number },
  ) {
    this.#options = options;
    this.#spec = parts.spec;
    this.plan = parts.plan;
    this.placement = { ...parts.plan.placement };
    this.#system = parts.system;
    this.#topology = parts.topology;
    this.#refs = networkRefsOf(parts.topology.replicas[0]!.actors);
    this.#all = allNetworkRefs(parts.topology);
    this.#order = stageZeroOrder(parts.plan.schedule, parts.plan.microbatches);
    this.#checksumEvery = parts.checksumEvery;
    this.#stats = new StepStats(parts.plan);
    this.#sampler = parts.sampler;
    this.stepsPerEpoch = parts.sampler.batchesPerEpoch;
    this.#rng = stepRng(options.seed);
    this.#events = parts.system.events$.subscribe(({ actor, event }) => {
      const e = event as { type?: unknown; message?: unknown };
      if (e.type === 'warning') this.events$.next({ type: 'warning', message: `${actor}: ${String(e.message)}`, step: this.#done });
    });
  }

  /** Spawns the actors of `options`' strategy and takes the first snapshot. */
  static async create(options: ActorEngineOptions, dataset: Dataset, hooks: ActorEngineHooks = {}): Promise<ActorEngine> {
    const spec = modelSpec(options.model);
    checkImageShape(spec, dataset.train, dataset.name);
    checkCount('maxRestarts', options.maxRestarts, 0);
    checkCount('snapshotEvery', options.snapshotEvery, 1);
    checkCount('prefetch', options.prefetch, 1);
    const plan = webgpuHosts(planStrategy({ ...options, ...(hooks.cores === undefined ? {} : { cores: hooks.cores }) }), options.backend, hooks.webgpuThreads);
    if (plan.host === 'thread' && (options.backend === 'gpu' || options.backend === 'native')) {
      throw errors.backendUnavailable(fixes.thread(options.backend));
    }
    if (plan.host === 'process' && plan.replicas > 1) {
      throw errors.invalidValue('host', `'thread' for ${plan.replicas} replicas (they all-reduce in memory shared between threads)`, plan.host);
    }
    const sampler = new BatchSampler(dataset.train.count, options.batchSize, options.seed, { dropLast: true });
    const fault = hooks.fault ?? configFault(options.fault, spec);
    // Process hosts that may run the GPU backend: one GPU per process (backend/cuda.ts).
    const devices = plan.host === 'process' && (options.backend === 'gpu' || options.backend === 'auto') ? visibleCudaDevices() : [];
    const system = new ActorSystem({
      host: plan.host,
      workers: plan.workers,
      ...(hooks.resourceLimits ? { resourceLimits: hooks.resourceLimits } : {}),
      ...(devices.length > 0 ? { env: (worker: number) => gpuEnvironment(worker, plan.workers, devices) } : {}),
    });
    try {
      const topology = await spawnTopology(system, {
        spec,
        plan,
        split: plan.host === 'thread' ? sharedSplit(dataset.train) : ownSplit(dataset.train),
        batchSize: options.batchSize,
        prefetch: options.prefetch,
        network: { model: options.model, seed: options.seed, lr: options.lr, beta1: options.beta1, backend: options.backend },
        backend: options.backend,
        ...(fault ? { fault } : {}),
      });
      const checksumEvery = hooks.checksumEvery ?? CHECKSUM_EVERY;
      checkCount('checksumEvery', checksumEvery, 1);
      const engine = new ActorEngine(options, { spec, plan, system, topology, sampler, checksumEvery });
      hooks.onSpawn?.(new Map(engine.#all.map((ref) => [ref.name, ref])));
      await engine.#takeSnapshot();
      return engine;
    } catch (error) {
      await system.close();
      throw error instanceof ActorDied ? errors.actorFailed(error.death.actor ?? 'unknown', error.death.cause) : error;
    }
  }

  /** The step `save()` describes: the steps done, or — after a failure — the last snapshot's. */
  get stateStep(): number {
    return this.#failure ? (this.#snapshot?.step ?? 0) : this.#done;
  }

  step(): Promise<StepResult> {
    return this.#supervised(() => this.#runStep());
  }

  async save(): Promise<StateFiles> {
    if (this.#failure) return snapshotFiles(this.#spec, this.#snapshot!, this.#options);
    return this.#supervised(async () => {
      await this.#checkReplicas();
      const parts = await settleAll(this.#refs.map((ref) => ref.call('save')));
      const files: StateFiles = Object.assign({}, ...parts) as StateFiles;
      files[ENGINE_STATE_FILE] = engineStateFile(this.#cursor, this.#rng.state());
      return files;
    });
  }

  async restore(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const raw = files.get(ENGINE_STATE_FILE);
    if (!raw) throw errors.checkpoint(`checkpoint has no ${ENGINE_STATE_FILE}`);
    const state = JSON.parse(new TextDecoder().decode(raw)) as { format?: unknown; cursor: Cursor; rng: RngState };
    if (state.format !== 'paragen-engine') throw errors.checkpoint(`${ENGINE_STATE_FILE} is not a paragen engine state`);
    this.#sampler.seek(state.cursor);
    await this.#supervised(async () => {
      await this.#drain();
      try {
        await settleAll(this.#all.map((ref) => ref.call('stage', filesOf(roleOf(ref.name), files))));
      } catch (error) {
        await settleAll(this.#all.map((ref) => ref.call('abort')));
        throw error;
      }
      const loaders = this.#topology.replicas.map((r) => r.loader.call('seek', state.cursor));
      await settleAll([...this.#all.map((ref) => ref.call('commit')), ...loaders]);
      this.#rng.setState(state.rng);
      this.#cursor = state.cursor;
      this.#done = state.cursor.epoch * this.stepsPerEpoch + state.cursor.index;
      await this.#takeSnapshot();
    });
  }

  sample(n: number, seed: number): Promise<Float32Array> {
    return this.#supervised(async () => {
      const a = this.#topology.replicas[0]!.actors;
      const reply = a.kind === 'gan' ? await a.generator.call('sample', { n, seed }) : await a.decoder.call('sample', { n, seed });
      return reply.images;
    });
  }

  /** From the supervisor's snapshot when it is of this step (free), else from replica 0's actor. */
  networkWeights(network: NetworkName): Promise<Float32Array[]> {
    return this.#supervised(async () => {
      const held = this.#snapshot?.step === this.#done ? this.#snapshot.networks[network] : undefined;
      // Copies: a rollback hands the snapshot's buffers to the actors.
      if (held) return held.weights.map((w) => w.slice());
      const ref = this.#refs.find((r) => roleOf(r.name) === network);
      if (!ref) throw errors.internal(`no network ${network} in this engine`);
      return (await ref.call('snapshot')).weights;
    });
  }

  /** Live tensors in each network actor's thread (flat across steps when nothing leaks), by actor name. */
  memory(): Promise<Record<string, TensorCount>> {
    return this.#supervised(async () => {
      const counts = await settleAll(this.#all.map((ref) => ref.call('memory')));
      return Object.fromEntries(this.#all.map((ref, i) => [ref.name, counts[i]!]));
    });
  }

  /** The plan's shape and, for pipelines, the mean bubble per step since creation or `resetStats()`. */
  stats(): EngineStats {
    return this.#stats.summary();
  }

  /** Starts `stats()` afresh (after a warm-up). */
  resetStats(): void {
    this.#stats.reset();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#system.close();
      this.#events.unsubscribe();
      this.events$.complete();
    })();
    return this.#closing;
  }

  /**
   * Runs `work` under supervision: a death rolls every actor back to the
   * snapshot, replays the steps done since, and runs `work` again.
   */
  async #supervised<T>(work: () => Promise<T>): Promise<T> {
    if (this.#failure) throw this.#failure;
    if (this.#closing) throw errors.actorStopped('coordinator');
    if (this.#busy) throw errors.internal('ActorEngine: steps, saves, restores and samples run one at a time; await the previous call');
    this.#busy = true;
    const target = this.#done;
    try {
      for (;;) {
        try {
          while (this.#done < target) await this.#runStep();
          await this.#settle();
          return await work();
        } catch (error) {
          if (!(error instanceof ActorDied)) throw error;
          await this.#recover(error);
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Charges the culprit a restart, revives its worker, rolls everything back to the snapshot. */
  async #recover(died: ActorDied): Promise<void> {
    let death = died.death;
    for (;;) {
      const name = death.actor ?? 'unknown';
      const attempt = (this.#restarts.get(name) ?? 0) + 1;
      if (attempt > this.#options.maxRestarts) {
        const spent = this.#options.maxRestarts === 0 ? 'no restarts allowed' : `restart budget of ${this.#options.maxRestarts} spent`;
        this.#failure = errors.actorFailed(name, `${death.cause} (${spent})`);
        throw this.#failure;
      }
      this.#restarts.set(name, attempt);
      this.events$.next({ type: 'restart', actor: roleOf(name), cause: death.cause, attempt });
      await this.#drain();
      try {
        await this.#system.revive(death.worker);
        await this.#rollback();
        return;
      } catch (error) {
        if (!(error instanceof ActorDied)) throw error;
        death = error.death;
      }
    }
  }

  /**
   * One step. Two round trips are taken off its path: the shards of the next
   * step are asked for as this one's update goes out (the loaders answer
   * between the network requests on their workers), and the update itself is
   * not awaited here but before the next request that needs it (`#settle`):
   * each actor runs it before anything sent to it later.
   */
  async #runStep(): Promise<StepResult> {
    await this.#settle();
    const step = this.#done + 1;
    const { batchSize } = this.#options;
    const { replicas, groups } = this.#topology;
    const ahead = this.#ahead?.step === step ? this.#ahead.batches : this.#take(step);
    this.#ahead = undefined;
    const batches = await ahead;
    const work: ReplicaStep[] = replicas.map((r, i) => ({ actors: r.actors, x: batches[i]!.x, shard: r.shard }));
    const schedule: StepSchedule = { step, order: this.#order, stages: this.plan.stages, onFailure: () => groups.forEach(abortGroup) };
    const spec = this.#spec;
    const started = performance.now();
    let run: StepRun;
    try {
      run =
        spec.kind === 'gan'
          ? await ganStep(work, planGanStep(this.#rng, batchSize, spec.noiseDim), schedule)
          : await vaeStep(work, planVaeStep(this.#rng, batchSize, spec.latentDim), schedule);
    } finally {
      // Every request has settled: no replica is inside an all-reduce any more.
      this.#resetAborted();
    }
    this.#pending = run.update;
    this.#ahead = { step: step + 1, batches: this.#take(step + 1) };
    this.#stats.add(performance.now() - started, run.outcome.bubble);
    const batch = batches[0]!;
    this.#cursor = batch.index + 1 < this.stepsPerEpoch ? { epoch: batch.epoch, index: batch.index + 1 } : { epoch: batch.epoch + 1, index: 0 };
    this.#done = step;
    if (step % this.#checksumEvery === 0) await this.#checkReplicas();
    if (step % this.#options.snapshotEvery === 0) await this.#takeSnapshot();
    return { ...run.outcome, samples: batchSize, epoch: batch.epoch };
  }

  /** Every replica's shard of batch `step` (rejections are observed when awaited). */
  #take(step: number): Promise<BatchReply[]> {
    const batches = settleAll(this.#topology.replicas.map((r) => r.loader.call('take', { step })));
    batches.catch(() => undefined);
    return batches;
  }

  /** Waits for the last step's update; its failure is thrown here. */
  async #settle(): Promise<void> {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    try {
      await pending;
    } finally {
      this.#resetAborted();
    }
  }

  /** Lets every request in flight (an update, the next shards) settle and forgets them: before a rollback or a restore. */
  async #drain(): Promise<void> {
    await Promise.allSettled([this.#pending, this.#ahead?.batches]);
    this.#pending = undefined;
    this.#ahead = undefined;
    this.#resetAborted();
  }

  /** After a failed step every request has settled, so no replica is inside an all-reduce: the groups can start again. */
  #resetAborted(): void {
    const { groups } = this.#topology;
    if (groups.some(isAborted)) groups.forEach(resetGroup);
  }

  /** With replicas: their weights and optimizer states must agree (`errors.replicasDiverged`). */
  async #checkReplicas(): Promise<void> {
    await this.#settle();
    if (this.#topology.replicas.length > 1) await checkReplicas(this.#topology, this.#done);
  }

  async #takeSnapshot(): Promise<void> {
    await this.#settle();
    const states = await settleAll(this.#refs.map((ref) => ref.call('snapshot')));
    this.#snapshot = {
      step: this.#done,
      cursor: this.#cursor,
      rng: this.#rng.state(),
      networks: Object.fromEntries(this.#refs.map((ref, i) => [ref.name, states[i]!])),
    };
  }

  /** Every replica back to the snapshot (replica 0's state, which all replicas shared). */
  async #rollback(): Promise<void> {
    const snapshot = this.#snapshot!;
    await settleAll([
      ...this.#all.map((ref) => ref.call('restore', snapshot.networks[roleOf(ref.name) as NetworkName]!)),
      ...this.#topology.replicas.map((r) => r.loader.call('seek', snapshot.cursor)),
    ]);
    this.#rng.setState(snapshot.rng);
    this.#cursor = snapshot.cursor;
    this.#done = snapshot.step;
  }
}
