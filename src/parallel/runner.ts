/**
 * The step runner of a strategy: it holds the topology the plan spawned
 * (replicas × stages, topology.ts) and runs the plan's schedule over it —
 * `single`, `data`, `model` and `pipeline` are all such grids, their steps
 * the schedules of schedule.ts and pipeline.ts. The coordinator draws each
 * step's plan from `stepRng(seed)` exactly as the one-thread reference
 * does, asks each replica's data loader for its shard of the batch and the
 * network actors for the step's parts, and applies or discards as one.
 *
 * What each strategy reproduces, for the same seed and global batch:
 * - `single`, `model`: the one-thread step, bit for bit.
 * - `pipeline` (m microbatches): the one-thread step with gradients
 *   accumulated over the same m microbatches, bit for bit. Batch norm
 *   normalises each microbatch with its own statistics, and dropout masks
 *   are drawn per microbatch (chunks.ts).
 * - `data` (R replicas): the one-thread step up to float rounding for models
 *   without batch norm or dropout; each replica normalises with its shard's
 *   statistics (PyTorch DDP without SyncBatchNorm). Every replica holds the
 *   same weights and optimizer state, bit for bit: checked by checksum every
 *   `checksumEvery` steps and at every save.
 *
 * Two round trips are taken off a step's path: the shards of the next step
 * are asked for as this one's update goes out, and the update itself is
 * awaited only before the next request that needs it (`settle`).
 */
import type { BatchReply } from '../../actors/data-loader.js';
import type { TensorCount } from '../../actors/protocol.js';
import type { ParagenSystem } from '../../actors/catalog.js';
import { abortGroup, isAborted, resetGroup } from '../actor/index.js';
import type { BatchSampler, Cursor } from '../data/index.js';
import type { NetworkName } from '../domain.js';
import { errors } from '../errors.js';
import { planGanStep, planVaeStep, type ModelSpec } from '../models/index.js';
import type { Rng } from '../rng.js';
import type { StateFiles, StepResult } from './engine.js';
import { filesOf } from './engine-input.js';
import { ENGINE_STATE_FILE, engineStateFile, type EngineState } from './engine-state.js';
import { stageZeroOrder, type StageOp } from './pipeline.js';
import { ringRendezvous } from './rendezvous.js';
import { checkReplicas } from './replica-check.js';
import { ganStep, settleAll, vaeStep, type NetworkRef, type ReplicaStep, type StepRun, type StepSchedule } from './schedule.js';
import type { Snapshot } from './snapshot.js';
import { StepStats, type EngineStats } from './stats.js';
import type { StrategyPlan } from './strategy.js';
import type { Supervised } from './supervisor.js';
import { allNetworkRefs, networkRefsOf, roleOf, type Topology } from './topology.js';

export interface RunnerParts {
  readonly spec: ModelSpec;
  readonly plan: StrategyPlan;
  readonly system: ParagenSystem;
  readonly topology: Topology;
  readonly sampler: BatchSampler;
  /** The step plans' RNG (`stepRng(seed)`). */
  readonly rng: Rng;
  readonly batchSize: number;
  /** Steps between the replicas' checksum comparisons (also at every save). */
  readonly checksumEvery: number;
  /** TCP replicas: the run's secret, presented by every ring connection. */
  readonly token: string;
}

export class StepRunner implements Supervised<Snapshot> {
  readonly stepsPerEpoch: number;
  readonly #parts: RunnerParts;
  /** Replica 0's network actors: what snapshots, saves and samples read. */
  readonly #refs: NetworkRef[];
  /** Every replica's network actors. */
  readonly #all: NetworkRef[];
  readonly #order: readonly StageOp[];
  readonly #stats: StepStats;
  #cursor: Cursor = { epoch: 0, index: 0 };
  #done = 0;
  /** TCP replicas: the rings' fencing number, bumped at every restart. */
  #ringEpoch = 0;
  /** The last step's update, sent and not yet awaited. */
  #pending: Promise<void> | undefined;
  /** The next step's shards, asked for ahead. */
  #ahead: { readonly step: number; readonly batches: Promise<BatchReply[]> } | undefined;

  constructor(parts: RunnerParts) {
    this.#parts = parts;
    this.#refs = networkRefsOf(parts.topology.replicas[0]!.actors);
    this.#all = allNetworkRefs(parts.topology);
    this.#order = stageZeroOrder(parts.plan.schedule, parts.plan.microbatches);
    this.#stats = new StepStats(parts.plan);
    this.stepsPerEpoch = parts.sampler.batchesPerEpoch;
  }

  get done(): number {
    return this.#done;
  }

  /** Every network actor of every replica, by name. */
  get networks(): readonly NetworkRef[] {
    return this.#all;
  }

  async step(): Promise<StepResult> {
    await this.settle();
    const step = this.#done + 1;
    const { batchSize, spec, plan, rng } = this.#parts;
    const { replicas, groups } = this.#parts.topology;
    const ahead = this.#ahead?.step === step ? this.#ahead.batches : this.#take(step);
    this.#ahead = undefined;
    const batches = await ahead;
    const work: ReplicaStep[] = replicas.map((r, i) => ({ actors: r.actors, x: batches[i]!.x, shard: r.shard }));
    const schedule: StepSchedule = { step, order: this.#order, stages: plan.stages, onFailure: () => groups.forEach(abortGroup) };
    const started = performance.now();
    let run: StepRun;
    try {
      run =
        spec.kind === 'gan'
          ? await ganStep(work, planGanStep(rng, batchSize, spec.noiseDim), schedule)
          : await vaeStep(work, planVaeStep(rng, batchSize, spec.latentDim), schedule);
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
    if (step % this.#parts.checksumEvery === 0) await this.checkReplicas();
    return { ...run.outcome, samples: batchSize, epoch: batch.epoch };
  }

  /** Waits for the last step's update; its failure is thrown here. */
  async settle(): Promise<void> {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    try {
      await pending;
    } finally {
      this.#resetAborted();
    }
  }

  async drain(): Promise<void> {
    await Promise.allSettled([this.#pending, this.#ahead?.batches]);
    this.#pending = undefined;
    this.#ahead = undefined;
    this.#resetAborted();
  }

  async capture(): Promise<Snapshot> {
    const states = await settleAll(this.#refs.map((ref) => ref.call('snapshot')));
    return {
      step: this.#done,
      cursor: this.#cursor,
      rng: this.#parts.rng.state(),
      networks: Object.fromEntries(this.#refs.map((ref, i) => [ref.name, states[i]!])),
    };
  }

  /** Every replica back to the snapshot (replica 0's state, which all replicas shared). */
  async rollback(snapshot: Snapshot): Promise<void> {
    await settleAll([
      ...this.#all.map((ref) => ref.call('restore', snapshot.networks[roleOf(ref.name) as NetworkName]!)),
      ...this.#parts.topology.replicas.map((r) => r.loader.call('seek', snapshot.cursor)),
    ]);
    this.#parts.rng.setState(snapshot.rng);
    this.#cursor = snapshot.cursor;
    this.#done = snapshot.step;
  }

  /** The rings' first rendezvous (TCP replicas; nothing to do otherwise). */
  connect(): Promise<void> {
    return ringRendezvous(this.#parts.topology, this.#ringEpoch, this.#parts.token);
  }

  /** A fresh host for `worker`; TCP replicas then meet again at the next epoch, every old ring closed. */
  async revive(worker: number): Promise<void> {
    await this.#parts.system.revive(worker);
    if (!this.#parts.topology.rings) return;
    this.#ringEpoch += 1;
    await ringRendezvous(this.#parts.topology, this.#ringEpoch, this.#parts.token);
  }

  /** The rings' epoch: 0 from the start, +1 per restart. */
  get ringEpoch(): number {
    return this.#ringEpoch;
  }

  /** With replicas: their weights and optimizer states must agree (`errors.replicasDiverged`). */
  async checkReplicas(): Promise<void> {
    await this.settle();
    if (this.#parts.topology.replicas.length > 1) await checkReplicas(this.#parts.topology, this.#done);
  }

  async save(): Promise<StateFiles> {
    await this.checkReplicas();
    const parts = await settleAll(this.#refs.map((ref) => ref.call('save')));
    const files: StateFiles = Object.assign({}, ...parts) as StateFiles;
    files[ENGINE_STATE_FILE] = engineStateFile(this.#cursor, this.#parts.rng.state());
    return files;
  }

  /** Every replica's networks from a checkpoint (all or none), the loaders and the RNG where it left them. */
  async restore(files: ReadonlyMap<string, Uint8Array>, state: EngineState): Promise<void> {
    await this.drain();
    try {
      await settleAll(this.#all.map((ref) => ref.call('stage', filesOf(roleOf(ref.name), files))));
    } catch (error) {
      await settleAll(this.#all.map((ref) => ref.call('abort')));
      throw error;
    }
    const loaders = this.#parts.topology.replicas.map((r) => r.loader.call('seek', state.cursor));
    await settleAll([...this.#all.map((ref) => ref.call('commit')), ...loaders]);
    this.#parts.rng.setState(state.rng);
    this.#cursor = state.cursor;
    this.#done = state.cursor.epoch * this.stepsPerEpoch + state.cursor.index;
  }

  async sample(n: number, seed: number): Promise<Float32Array> {
    const a = this.#parts.topology.replicas[0]!.actors;
    const reply = a.kind === 'gan' ? await a.generator.call('sample', { n, seed }) : await a.decoder.call('sample', { n, seed });
    return reply.images;
  }

  /** Replica 0's weights of `network`, from its actor. */
  async weights(network: NetworkName): Promise<Float32Array[]> {
    const ref = this.#refs.find((r) => roleOf(r.name) === network);
    if (!ref) throw errors.internal(`no network ${network} in this engine`);
    return (await ref.call('snapshot')).weights;
  }

  async memory(): Promise<Record<string, TensorCount>> {
    const counts = await settleAll(this.#all.map((ref) => ref.call('memory')));
    return Object.fromEntries(this.#all.map((ref, i) => [ref.name, counts[i]!]));
  }

  stats(): EngineStats {
    return this.#stats.summary();
  }

  resetStats(): void {
    this.#stats.reset();
  }

  /** Every replica's shard of batch `step` (rejections are observed when awaited). */
  #take(step: number): Promise<BatchReply[]> {
    const batches = settleAll(this.#parts.topology.replicas.map((r) => r.loader.call('take', { step })));
    batches.catch(() => undefined);
    return batches;
  }

  /** After a failed step every request has settled, so no replica is inside an all-reduce: the groups can start again. */
  #resetAborted(): void {
    const { groups } = this.#parts.topology;
    if (groups.some(isAborted)) groups.forEach(resetGroup);
  }
}
