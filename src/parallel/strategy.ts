/**
 * Which strategy a run uses, on how many workers, and which worker holds
 * each actor — and, for `auto`, why.
 *
 * Every strategy is a grid: `replicas` data-parallel copies of the model,
 * each on `stages` workers (1: every network together; 2: a pipeline stage
 * per network), each cutting its shard of the batch into `microbatches`.
 *
 * | strategy   | replicas        | stages | microbatches |
 * | ---------- | --------------- | ------ | ------------ |
 * | `single`   | 1               | 1      | 1            |
 * | `data`     | workers         | 1      | 1            |
 * | `model`    | 1               | 2      | 1            |
 * | `pipeline` | workers / 2     | 2      | microbatches |
 *
 * Replica r's stage s is worker r·stages + s. `pipeline` on 4, 6, … workers
 * is data × pipeline: that many two-stage pipelines, all-reducing.
 */
import { availableParallelism } from 'node:os';
import type { HostKind } from '../actor/index.js';
import { fixes } from '../backend/fixes.js';
import type { BackendChoice } from '../domain.js';
import { errors } from '../errors.js';
import { FAMILY_ACTORS, modelFamily, type ActorName, type ActorStrategy, type ModelName, type PipelineSchedule, type StrategyChoice } from '../domain.js';

/** The strategies the actor engine runs. */
export type { ActorStrategy, PipelineSchedule } from '../domain.js';

export interface StrategyPlan {
  readonly strategy: ActorStrategy;
  readonly workers: number;
  readonly host: HostKind;
  /** Data-parallel copies of the model. */
  readonly replicas: number;
  /** Workers per replica: 1, or 2 (generator | discriminator, encoder | decoder). */
  readonly stages: 1 | 2;
  /** Microbatches per replica's shard of the batch (1 unless pipelining). */
  readonly microbatches: number;
  readonly schedule: PipelineSchedule;
  /** Which worker holds each actor of replica 0 (`replicaPlacement` gives the others'). */
  readonly placement: Readonly<Partial<Record<ActorName, number>>>;
  /** Why this strategy and this placement, in a sentence (for logs and `paragen train`'s start line). */
  readonly reason: string;
}

/** What `planStrategy` reads of a run's config. */
export interface StrategyInput {
  readonly model: string;
  readonly strategy: StrategyChoice;
  readonly workers?: number;
  readonly host: HostKind;
  /** Pipeline microbatches (the config's default is 4). */
  readonly microbatches?: number;
  readonly schedule?: PipelineSchedule;
  /** The global batch: bounds replicas and microbatches when given. */
  readonly batchSize?: number;
  /** Cores to plan for; default `os.availableParallelism()`. */
  readonly cores?: number;
  /** Bytes one worker can hold; default the wasm heap's 4 GiB. */
  readonly workerMemory?: number;
  /** The backend asked for: the native ones cannot load in a worker thread. */
  readonly backend?: BackendChoice;
}

/** Trainable parameters of each network (checked against the built models in test/parallel/strategy.test.ts). */
export const PARAMETERS: Readonly<Record<ModelName, readonly [number, number]>> = {
  dcgan: [2_305_472, 212_865],
  'dcgan-small': [384_368, 14_817],
  'vae-mlp': [330_040, 322_784],
  'vae-conv': [133_760, 86_625],
};

/** A wasm instance addresses at most 4 GiB. */
const WASM_HEAP = 4 * 2 ** 30;
/** Weights, gradient, Adam's two moments, and as much again for activations and the all-reduce. */
const BYTES_PER_PARAMETER = 32;
/** Rows per replica below which a replica's products run too small to pay for the all-reduce. */
const MIN_ROWS_PER_REPLICA = 16;

/**
 * The plan for `input`.
 *
 * - `single`: every actor on worker 0.
 * - `data`: one full replica per worker (default: one per core), each with
 *   its own data loader serving its shard.
 * - `model`: the two networks on workers 0 and 1 — generator | discriminator,
 *   encoder | decoder — and the data loader with the network that consumes
 *   the real batch first: the discriminator (the generator never sees data),
 *   the encoder (x enters there; the decoder needs it only for its loss).
 * - `pipeline`: `model`'s placement with microbatches; 2k workers run k
 *   pipelines as data-parallel replicas.
 * - `auto`: see `auto` below.
 */
export function planStrategy(input: StrategyInput): StrategyPlan {
  const family = modelFamily(input.model as ModelName);
  const { workers } = input;
  const grid = (strategy: ActorStrategy, replicas: number, stages: 1 | 2, microbatches: number, reason: string) =>
    plan(input, family, { strategy, replicas, stages, microbatches, reason });
  switch (input.strategy) {
    case 'single':
      if (workers !== undefined && workers !== 1) {
        throw errors.invalidValue('workers', "1 for strategy 'single' (every actor on one worker)", workers);
      }
      return grid('single', 1, 1, 1, 'single: chosen explicitly; every actor on worker 0');
    case 'model':
      if (workers !== undefined && workers !== 2) {
        throw errors.invalidValue('workers', "2 for strategy 'model' (one worker per network)", workers);
      }
      return grid('model', 1, 2, 1, `model: chosen explicitly; ${stagePlacement(family)}`);
    case 'data': {
      if (workers !== undefined && workers < 2) {
        throw errors.invalidValue('workers', "at least 2 for strategy 'data' (one replica per worker)", workers);
      }
      const replicas = workers ?? Math.max(2, cores(input));
      if (input.batchSize !== undefined && input.batchSize < replicas) {
        throw errors.invalidValue('workers', `at most batchSize (${input.batchSize}) for strategy 'data' (a row per replica)`, replicas);
      }
      const why = workers === undefined ? `one per core (${replicas})` : `--workers ${workers}`;
      return grid('data', replicas, 1, 1, `data: chosen explicitly; ${replicas} replicas (${why}), each a full model and its shard of the batch`);
    }
    case 'pipeline': {
      if (workers !== undefined && (workers < 2 || workers % 2 !== 0)) {
        throw errors.invalidValue('workers', "2, or an even number for data × pipeline (2 stages per replica), with strategy 'pipeline'", workers);
      }
      const replicas = (workers ?? 2) / 2;
      const microbatches = input.microbatches ?? 4;
      if (!Number.isSafeInteger(microbatches) || microbatches < 1) {
        throw errors.invalidValue('microbatches', 'a positive integer', microbatches);
      }
      checkMicrobatches(input.batchSize, replicas, microbatches);
      const schedule = input.schedule ?? '1f1b';
      const copies = replicas > 1 ? `data × pipeline: ${replicas} replicas of ` : '';
      return grid(
        'pipeline',
        replicas,
        2,
        microbatches,
        `pipeline: chosen explicitly; ${copies}${microbatches} microbatches through 2 stages (${schedule}); ${stagePlacement(family)}`,
      );
    }
    case 'auto':
      return auto(input, family, grid);
    default:
      throw errors.invalidValue('strategy', "one of 'auto', 'single', 'model', 'data', 'pipeline'", input.strategy);
  }
}

/**
 * `auto`: data parallelism whenever there are two workers to use and the
 * whole model fits one worker — replicas exchange one all-reduce per network
 * per step, where model and pipeline parallelism exchange activations at
 * every microbatch and leave a stage idle in the bubble. Only a model too
 * big for one worker is split: a pipeline, replicated over the remaining
 * workers. One core, or `--workers 1`: `single`.
 */
function auto(
  input: StrategyInput,
  family: 'gan' | 'vae',
  grid: (strategy: ActorStrategy, replicas: number, stages: 1 | 2, microbatches: number, reason: string) => StrategyPlan,
): StrategyPlan {
  const available = cores(input);
  const workers = input.workers ?? available;
  const source = input.workers === undefined ? `${available} core${available === 1 ? '' : 's'}` : `--workers ${workers}`;
  if (workers < 2) {
    return grid('single', 1, 1, 1, `single: auto picks it for ${source} (nothing runs in parallel)`);
  }
  const [first, second] = PARAMETERS[input.model as ModelName] ?? [0, 0];
  const budget = input.workerMemory ?? WASM_HEAP;
  const mb = (params: number) => `${Math.ceil((params * BYTES_PER_PARAMETER) / 2 ** 20)} MB`;
  if ((first + second) * BYTES_PER_PARAMETER > budget) {
    if (Math.max(first, second) * BYTES_PER_PARAMETER > budget) {
      throw errors.invalidValue('model', `a model whose networks each fit one worker (${mb(budget / BYTES_PER_PARAMETER)})`, input.model);
    }
    const replicas = Math.max(1, Math.floor(workers / 2));
    const microbatches = Math.min(input.microbatches ?? 4, input.batchSize !== undefined ? Math.floor(input.batchSize / replicas) : Infinity);
    return grid(
      'pipeline',
      replicas,
      2,
      Math.max(1, microbatches),
      `pipeline: auto picks it for ${source} because ${input.model} needs ${mb(first + second)} to train, more than one worker holds (${mb(budget / BYTES_PER_PARAMETER)}); ${stagePlacement(family)}`,
    );
  }
  // Small shards make small products: keep at least MIN_ROWS_PER_REPLICA rows per replica.
  const byRows = input.batchSize !== undefined ? Math.floor(input.batchSize / MIN_ROWS_PER_REPLICA) : workers;
  const replicas = Math.min(workers, Math.max(byRows, 1));
  if (replicas < 2) {
    return grid('single', 1, 1, 1, `single: auto picks it because batchSize ${input.batchSize} is too small to shard (under ${2 * MIN_ROWS_PER_REPLICA} rows)`);
  }
  const idle = replicas < workers ? `; ${workers - replicas} of ${workers} workers stay idle (at least ${MIN_ROWS_PER_REPLICA} rows per replica)` : '';
  return grid(
    'data',
    replicas,
    1,
    1,
    `data: auto picks it for ${source}: ${input.model} fits one worker (${mb(first + second)} to train), so ${replicas} replicas each train on a shard and all-reduce once per step${idle}`,
  );
}

/** Which workers hold replica `replica`'s actors. */
export function replicaPlacement(plan: StrategyPlan, replica: number): Partial<Record<ActorName, number>> {
  const base = replica * plan.stages;
  return Object.fromEntries(Object.entries(plan.placement).map(([actor, worker]) => [actor, worker + base]));
}

function plan(
  input: StrategyInput,
  family: 'gan' | 'vae',
  grid: { strategy: ActorStrategy; replicas: number; stages: 1 | 2; microbatches: number; reason: string },
): StrategyPlan {
  if (input.host === 'thread' && (input.backend === 'gpu' || input.backend === 'native')) {
    throw errors.backendUnavailable(fixes.thread(input.backend));
  }
  const placement: Partial<Record<ActorName, number>> =
    grid.stages === 1
      ? Object.fromEntries(FAMILY_ACTORS[family].map((a) => [a, 0]))
      : family === 'gan'
        ? { dataLoader: 1, generator: 0, discriminator: 1 }
        : { dataLoader: 0, encoder: 0, decoder: 1 };
  return {
    strategy: grid.strategy,
    workers: grid.replicas * grid.stages,
    host: input.host,
    replicas: grid.replicas,
    stages: grid.stages,
    microbatches: grid.microbatches,
    schedule: input.schedule ?? '1f1b',
    placement,
    reason: grid.reason,
  };
}

function stagePlacement(family: 'gan' | 'vae'): string {
  return family === 'gan'
    ? 'generator on worker 0, discriminator and data loader on worker 1'
    : 'encoder and data loader on worker 0, decoder on worker 1';
}

function cores(input: StrategyInput): number {
  return input.cores ?? availableParallelism();
}

/** Every microbatch of every replica's shard needs a row. */
function checkMicrobatches(batchSize: number | undefined, replicas: number, microbatches: number): void {
  if (batchSize === undefined) return;
  const rows = Math.floor(batchSize / replicas);
  if (microbatches <= rows) return;
  if (replicas === 1) throw errors.invalidValue('microbatches', `at most batchSize (${batchSize})`, microbatches);
  throw errors.invalidValue('microbatches', `at most the rows per replica (${rows}: batchSize ${batchSize} over ${replicas} replicas)`, microbatches);
}
