/**
 * The actor engine: the `single` and `model` strategies over thread or
 * process hosts. The coordinator (this class, in the calling thread) draws
 * each step's plan from `stepRng(seed)` exactly as `LocalEngine` does, asks
 * the data loader for the batch and the network actors for the step's halves
 * (schedule.ts), and applies or discards as one. It also supervises.
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
 * When a budget is spent, `step()` (and every later call but `save` and
 * `close`) rejects with `errors.actorFailed(actor, cause)`. `save()` then
 * returns the last snapshot — a consistent state as of `stateStep` steps,
 * built in this thread without the dead worker — so the run loop can still
 * write a checkpoint; it must label it with `stateStep`, not its own count.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { Subject, type Subscription } from 'rxjs';
import type { DataLoaderEvent, DataLoaderProtocol } from '../../actors/data-loader.js';
import type { NetworkInit, TensorCount } from '../../actors/network.js';
import { ActorDied, ActorSystem, type ActorRef, type FaultPlan, type HostKind } from '../actor/index.js';
import { fixes, type BackendChoice } from '../backend/index.js';
import { BatchSampler, type Cursor, type Dataset, type Split } from '../data/index.js';
import { errors, type ParagenError } from '../errors.js';
import { modelSpec, planGanStep, planVaeStep, type ModelSpec, type NetworkName } from '../models/index.js';
import type { Rng, RngState } from '../rng.js';
import { FAMILY_ACTORS, parseFault, type ActorName, type StrategyChoice } from '../run/config-schema.js';
import type { Engine, EngineEvent, StateFiles, StepResult } from './engine.js';
import { checkImageShape, ENGINE_STATE_FILE, stepRng, type EngineOptions } from './local.js';
import { ganStep, networkRefs, settleAll, vaeStep, type NetworkActors, type NetworkRef, type StepOutcome } from './schedule.js';
import { engineStateFile, snapshotFiles, type Snapshot } from './snapshot.js';
import { planStrategy, type StrategyPlan } from './strategy.js';

/** What the actor engine reads of a run's config (a `RunConfig` is one). */
export interface ActorEngineOptions extends EngineOptions {
  readonly strategy: StrategyChoice;
  readonly workers?: number;
  readonly host: HostKind;
  readonly backend: BackendChoice;
  /** Restarts allowed per actor before the run fails. */
  readonly maxRestarts: number;
  /** Steps between snapshots that a restart rolls back to. */
  readonly snapshotEvery: number;
  /** Batches the data loader keeps ready ahead. */
  readonly prefetch: number;
  /** `crash:<actor>@<step>`: that actor's worker exits at that step, once. */
  readonly fault?: string;
}

/** Testing and embedding hooks. */
export interface ActorEngineHooks {
  /** A planned fault of any kind (the `fault` option only gives `crash`). */
  readonly fault?: { readonly actor: ActorName; readonly plan: FaultPlan };
  /** Thread hosts: limits of each worker thread. */
  readonly resourceLimits?: ResourceLimits;
}

type LoaderRef = ActorRef<DataLoaderProtocol, DataLoaderEvent>;

export class ActorEngine implements Engine {
  readonly placement: Partial<Record<ActorName, number>>;
  readonly stepsPerEpoch: number;
  readonly events$ = new Subject<EngineEvent>();
  /** The strategy, its workers and placement, and why. */
  readonly plan: StrategyPlan;
  readonly #options: ActorEngineOptions;
  readonly #spec: ModelSpec;
  readonly #system: ActorSystem;
  readonly #loader: LoaderRef;
  readonly #actors: NetworkActors;
  readonly #refs: NetworkRef[];
  readonly #sampler: BatchSampler;
  readonly #rng: Rng;
  readonly #restarts = new Map<string, number>();
  readonly #events: Subscription;
  #cursor: Cursor = { epoch: 0, index: 0 };
  #done = 0;
  #snapshot: Snapshot | undefined;
  #failure: ParagenError | undefined;
  #busy = false;
  #closing: Promise<void> | undefined;

  private constructor(
    options: ActorEngineOptions,
    parts: { spec: ModelSpec; plan: StrategyPlan; system: ActorSystem; loader: LoaderRef; actors: NetworkActors; sampler: BatchSampler },
  ) {
    this.#options = options;
    this.#spec = parts.spec;
    this.plan = parts.plan;
    this.placement = { ...parts.plan.placement };
    this.#system = parts.system;
    this.#loader = parts.loader;
    this.#actors = parts.actors;
    this.#refs = networkRefs(parts.actors);
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
    const plan = planStrategy(options);
    if (plan.host === 'thread' && (options.backend === 'gpu' || options.backend === 'native')) {
      throw errors.backendUnavailable(fixes.thread(options.backend));
    }
    const sampler = new BatchSampler(dataset.train.count, options.batchSize, options.seed, { dropLast: true });
    const fault = hooks.fault ?? configFault(options.fault, spec);
    const system = new ActorSystem({
      host: plan.host,
      workers: plan.workers,
      ...(hooks.resourceLimits ? { resourceLimits: hooks.resourceLimits } : {}),
    });
    try {
      const where = (actor: ActorName) => ({
        worker: plan.placement[actor]!,
        ...(fault?.actor === actor ? { fault: fault.plan } : {}),
      });
      const net: NetworkInit = { model: options.model, seed: options.seed, lr: options.lr, beta1: options.beta1, backend: options.backend };
      const split = plan.host === 'thread' ? sharedSplit(dataset.train) : ownSplit(dataset.train);
      const loading = system.spawn(
        'dataLoader',
        'dataLoader',
        { split, batchSize: options.batchSize, seed: options.seed, prefetch: options.prefetch, range: spec.range },
        where('dataLoader'),
      );
      const networks: Promise<NetworkActors> =
        spec.kind === 'gan'
          ? Promise.all([
              system.spawn('generator', 'generator', net, where('generator')),
              system.spawn('discriminator', 'discriminator', net, where('discriminator')),
            ]).then(([generator, discriminator]) => ({ kind: 'gan', generator, discriminator }))
          : Promise.all([
              system.spawn('encoder', 'encoder', net, where('encoder')),
              system.spawn('decoder', 'decoder', net, where('decoder')),
            ]).then(([encoder, decoder]) => ({ kind: 'vae', encoder, decoder }));
      const [loader, actors] = await settleAll<unknown>([loading, networks]);
      const engine = new ActorEngine(options, {
        spec,
        plan,
        system,
        loader: loader as LoaderRef,
        actors: actors as NetworkActors,
        sampler,
      });
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
      const names = this.#spec.networks as readonly NetworkName[];
      try {
        await settleAll(this.#refs.map((ref, i) => ref.call('stage', filesOf(names[i]!, files))));
      } catch (error) {
        await settleAll(this.#refs.map((ref) => ref.call('abort')));
        throw error;
      }
      await settleAll([...this.#refs.map((ref) => ref.call('commit')), this.#loader.call('seek', state.cursor)]);
      this.#rng.setState(state.rng);
      this.#cursor = state.cursor;
      this.#done = state.cursor.epoch * this.stepsPerEpoch + state.cursor.index;
      await this.#takeSnapshot();
    });
  }

  sample(n: number, seed: number): Promise<Float32Array> {
    return this.#supervised(async () => {
      const a = this.#actors;
      const reply = a.kind === 'gan' ? await a.generator.call('sample', { n, seed }) : await a.decoder.call('sample', { n, seed });
      return reply.images;
    });
  }

  /** Live tensors in each network actor's thread (flat across steps when nothing leaks). */
  memory(): Promise<Partial<Record<NetworkName, TensorCount>>> {
    return this.#supervised(async () => {
      const counts = await settleAll(this.#refs.map((ref) => ref.call('memory')));
      return Object.fromEntries(this.#refs.map((ref, i) => [ref.name, counts[i]!]));
    });
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
      const actor = (death.actor ?? 'unknown') as ActorName;
      const attempt = (this.#restarts.get(actor) ?? 0) + 1;
      if (attempt > this.#options.maxRestarts) {
        const spent = this.#options.maxRestarts === 0 ? 'no restarts allowed' : `restart budget of ${this.#options.maxRestarts} spent`;
        this.#failure = errors.actorFailed(actor, `${death.cause} (${spent})`);
        throw this.#failure;
      }
      this.#restarts.set(actor, attempt);
      this.events$.next({ type: 'restart', actor, cause: death.cause, attempt });
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

  async #runStep(): Promise<StepResult> {
    const step = this.#done + 1;
    const { batchSize } = this.#options;
    const batch = await this.#loader.call('take', { step });
    const spec = this.#spec;
    const actors = this.#actors;
    let outcome: StepOutcome;
    if (spec.kind === 'gan' && actors.kind === 'gan') {
      outcome = await ganStep(actors, batch.x, planGanStep(this.#rng, batchSize, spec.noiseDim), step);
    } else if (spec.kind === 'vae' && actors.kind === 'vae') {
      outcome = await vaeStep(actors, batch.x, planVaeStep(this.#rng, batchSize, spec.latentDim), step);
    } else {
      throw errors.internal(`model ${spec.name} is a ${spec.kind} but its actors are a ${actors.kind}'s`);
    }
    this.#cursor = batch.index + 1 < this.stepsPerEpoch ? { epoch: batch.epoch, index: batch.index + 1 } : { epoch: batch.epoch + 1, index: 0 };
    this.#done = step;
    if (step % this.#options.snapshotEvery === 0) await this.#takeSnapshot();
    return { ...outcome, samples: batchSize, epoch: batch.epoch };
  }

  async #takeSnapshot(): Promise<void> {
    const states = await settleAll(this.#refs.map((ref) => ref.call('snapshot')));
    this.#snapshot = {
      step: this.#done,
      cursor: this.#cursor,
      rng: this.#rng.state(),
      networks: Object.fromEntries(this.#refs.map((ref, i) => [ref.name, states[i]!])),
    };
  }

  async #rollback(): Promise<void> {
    const snapshot = this.#snapshot!;
    await settleAll([
      ...this.#refs.map((ref) => ref.call('restore', snapshot.networks[ref.name as NetworkName]!)),
      this.#loader.call('seek', snapshot.cursor),
    ]);
    this.#rng.setState(snapshot.rng);
    this.#cursor = snapshot.cursor;
    this.#done = snapshot.step;
  }
}

function checkCount(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw errors.invalidValue(field, min === 0 ? 'a non-negative integer' : 'a positive integer', value);
  }
}

/** The config's `crash:<actor>@<step>`, checked against the model's actors. */
function configFault(value: string | undefined, spec: ModelSpec): { actor: ActorName; plan: FaultPlan } | undefined {
  if (value === undefined) return undefined;
  const fault = parseFault(value);
  const actors = FAMILY_ACTORS[spec.kind];
  if (!fault || !actors.includes(fault.actor) || fault.step < 1) {
    throw errors.invalidValue('fault', `'crash:<actor>@<step>' with <actor> one of ${actors.join(', ')} and <step> from 1`, value);
  }
  return { actor: fault.actor, plan: { kind: 'crash', step: fault.step } };
}

/** The split with its images in a SharedArrayBuffer: every thread (and every restart) reads the same memory. */
function sharedSplit(split: Split): Split {
  const { images } = split;
  const shared = new SharedArrayBuffer(images.byteLength);
  const copy = images instanceof Uint8Array ? new Uint8Array(shared) : new Float32Array(shared);
  copy.set(images);
  return { ...withoutLabels(split), images: copy };
}

/** The split as a process host receives it: only its own images (an IPC message copies the whole buffer under a view). */
function ownSplit(split: Split): Split {
  const { images } = split;
  const own = images.byteOffset === 0 && images.byteLength === images.buffer.byteLength ? images : images.slice();
  return { ...withoutLabels(split), images: own };
}

function withoutLabels(split: Split): Split {
  const { labels: _labels, ...rest } = split;
  return rest;
}

function filesOf(network: string, files: ReadonlyMap<string, Uint8Array>): Record<string, Uint8Array> {
  return Object.fromEntries([...files].filter(([path]) => path.startsWith(`${network}/`)));
}
