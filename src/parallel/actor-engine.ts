/**
 * The actor engine: every strategy — single, data, model, pipeline and data
 * × pipeline (strategy.ts) — over thread or process hosts, as three parts:
 *
 * - this facade, which plans, spawns the topology, owns the events and
 *   answers the run loop's `Engine` calls;
 * - the strategy's step runner (runner.ts), which holds the topology and
 *   runs the plan's schedule;
 * - the supervisor (supervisor.ts), which keeps snapshots and restarts,
 *   rolls back and replays around the runner.
 *
 * Replica r's actors are named `<actor>/r` (topology.ts); restart budgets
 * are per actor, and restart events name the role (`decoder`). With
 * replicas, a death anywhere wakes the replicas waiting for it in an
 * all-reduce, and every replica is rolled back together.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { Subject, type Subscription } from 'rxjs';
import { paragenSystem } from '../../actors/catalog.js';
import type { TensorCount } from '../../actors/protocol.js';
import { ActorDied, type FaultPlan, type HostKind, type SlotFactory } from '../actor/index.js';
import { newRunToken } from '../actor/collective/tcp-mesh.js';
import { gpuEnvironment, visibleCudaDevices, type BackendChoice } from '../backend/index.js';
import { BatchSampler, type Dataset } from '../data/index.js';
import type { ActorName, NetworkName, PipelineSchedule, StrategyChoice } from '../domain.js';
import { errors } from '../errors.js';
import { modelSpec, type ModelSpec } from '../models/index.js';
import type { Engine, EngineEvent, StateFiles, StepResult } from './engine.js';
import { checkCount, checkImageShape, configFault, ownSplit, sharedSplit, stepRng, type EngineOptions } from './engine-input.js';
import { readEngineState } from './engine-state.js';
import { webgpuHosts } from './gpu-hosts.js';
import { StepRunner } from './runner.js';
import type { NetworkRef } from './schedule.js';
import { snapshotFiles, type Snapshot } from './snapshot.js';
import type { EngineStats } from './stats.js';
import { planStrategy, type StrategyPlan } from './strategy.js';
import { Supervisor } from './supervisor.js';
import { roleOf, spawnTopology } from './topology.js';

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
  /** Process hosts: each worker's slot built here instead (a remote host's, src/cluster). */
  readonly slot?: SlotFactory;
  /** TCP replicas: the longest one all-reduce may wait for a peer, ms (default 30000). */
  readonly ringTimeoutMs?: number;
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
  readonly #sampler: BatchSampler;
  readonly #runner: StepRunner;
  readonly #supervisor: Supervisor<Snapshot>;
  readonly #close: () => Promise<void>;
  readonly #events: Subscription;
  #closing: Promise<void> | undefined;

  private constructor(
    options: ActorEngineOptions,
    parts: { spec: ModelSpec; plan: StrategyPlan; sampler: BatchSampler; runner: StepRunner; system: ReturnType<typeof paragenSystem> },
  ) {
    this.#options = options;
    this.#spec = parts.spec;
    this.plan = parts.plan;
    this.placement = { ...parts.plan.placement };
    this.#sampler = parts.sampler;
    this.#runner = parts.runner;
    this.stepsPerEpoch = parts.runner.stepsPerEpoch;
    this.#supervisor = new Supervisor(parts.runner, {
      maxRestarts: options.maxRestarts,
      snapshotEvery: options.snapshotEvery,
      onRestart: ({ actor, cause, attempt }) => this.events$.next({ type: 'restart', actor: roleOf(actor), cause, attempt }),
    });
    this.#close = () => parts.system.close();
    this.#events = parts.system.events$.subscribe(({ actor, event }) => {
      const e = event as { type?: unknown; message?: unknown };
      if (e.type === 'warning') this.events$.next({ type: 'warning', message: `${actor}: ${String(e.message)}`, step: this.#runner.done });
    });
  }

  /** Spawns the actors of `options`' strategy and takes the first snapshot. */
  static async create(options: ActorEngineOptions, dataset: Dataset, hooks: ActorEngineHooks = {}): Promise<ActorEngine> {
    const spec = modelSpec(options.model);
    checkImageShape(spec, dataset.train, dataset.name);
    checkCount('maxRestarts', options.maxRestarts, 0);
    checkCount('snapshotEvery', options.snapshotEvery, 1);
    checkCount('prefetch', options.prefetch, 1);
    const checksumEvery = hooks.checksumEvery ?? CHECKSUM_EVERY;
    checkCount('checksumEvery', checksumEvery, 1);
    const plan = webgpuHosts(planStrategy({ ...options, ...(hooks.cores === undefined ? {} : { cores: hooks.cores }) }), options.backend, hooks.webgpuThreads);
    const sampler = new BatchSampler(dataset.train.count, options.batchSize, options.seed, { dropLast: true });
    const fault = hooks.fault ?? configFault(options.fault, spec);
    // Process hosts that may run the GPU backend: one GPU per process (backend/cuda.ts).
    const devices = plan.host === 'process' && (options.backend === 'gpu' || options.backend === 'auto') ? visibleCudaDevices() : [];
    const system = paragenSystem({
      host: plan.host,
      workers: plan.workers,
      ...(hooks.slot ? { slot: hooks.slot } : {}),
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
        network: {
          model: options.model, seed: options.seed, lr: options.lr, beta1: options.beta1, backend: options.backend,
          ...(options.ema ? { ema: options.ema } : {}),
        },
        backend: options.backend,
        collective: plan.host === 'thread' ? 'shared' : 'tcp',
        ...(hooks.ringTimeoutMs === undefined ? {} : { ringTimeoutMs: hooks.ringTimeoutMs }),
        ...(fault ? { fault } : {}),
      });
      const token = newRunToken();
      const runner = new StepRunner({ spec, plan, system, topology, sampler, rng: stepRng(options.seed), batchSize: options.batchSize, checksumEvery, token });
      await runner.connect();
      const engine = new ActorEngine(options, { spec, plan, sampler, runner, system });
      hooks.onSpawn?.(new Map(runner.networks.map((ref) => [ref.name, ref])));
      await engine.#supervisor.takeSnapshot();
      return engine;
    } catch (error) {
      await system.close();
      throw error instanceof ActorDied ? errors.actorFailed(error.death.actor ?? 'unknown', error.death.cause) : error;
    }
  }

  /** The step `save()` describes: the steps done, or — after a failure — the last snapshot's. */
  get stateStep(): number {
    return this.#supervisor.stateStep;
  }

  step(): Promise<StepResult> {
    return this.#supervisor.step<StepResult>();
  }

  /** After a spent restart budget: the last snapshot, built in this thread without the dead worker. */
  async save(): Promise<StateFiles> {
    const snapshot = this.#supervisor.snapshot;
    if (this.#supervisor.failure && snapshot) return snapshotFiles(this.#spec, snapshot, this.#options);
    return this.#supervisor.run(() => this.#runner.save());
  }

  async restore(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const state = readEngineState(files);
    this.#sampler.seek(state.cursor);
    await this.#supervisor.run(async () => {
      await this.#runner.restore(files, state);
      await this.#supervisor.takeSnapshot();
    });
  }

  sample(n: number, seed: number): Promise<Float32Array> {
    return this.#supervisor.run(() => this.#runner.sample(n, seed));
  }

  /** From the supervisor's snapshot when it is of this step (free), else from replica 0's actor. */
  networkWeights(network: NetworkName): Promise<Float32Array[]> {
    return this.#supervisor.run(async () => {
      const snapshot = this.#supervisor.snapshot;
      const held = snapshot?.step === this.#runner.done ? snapshot.networks[network] : undefined;
      // Copies: a rollback hands the snapshot's buffers to the actors.
      if (held) return held.weights.map((w) => w.slice());
      return this.#runner.weights(network);
    });
  }

  /** Live tensors in each network actor's thread (flat across steps when nothing leaks), by actor name. */
  memory(): Promise<Record<string, TensorCount>> {
    return this.#supervisor.run(() => this.#runner.memory());
  }

  /** The plan's shape and, for pipelines, the mean bubble per step since creation or `resetStats()`. */
  stats(): EngineStats {
    return this.#runner.stats();
  }

  /** Starts `stats()` afresh (after a warm-up). */
  resetStats(): void {
    this.#runner.resetStats();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#supervisor.close();
      await this.#close();
      this.#events.unsubscribe();
      this.events$.complete();
    })();
    return this.#closing;
  }
}
