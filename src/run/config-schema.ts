/**
 * The one schema of paragen's settings. Every CLI flag, every key of a config
 * file (`--config run.json|.yaml`), every field of the Node API input and of a
 * run directory's `config.json` is a row of `FIELDS`; the TypeScript types
 * (`RunConfig`, `CommandConfig<C>`) are computed from the table, so the flags,
 * the files and the types cannot drift apart.
 */
import { DCGAN_SMALL_BATCH, DCGAN_SMALL_BETA1, DCGAN_SMALL_EMA, DCGAN_SMALL_LR } from '../models/registry.js';
import { WORKER_FIELDS } from './worker-fields.js';

import { ACTORS, BACKENDS, HOSTS, MODELS, SCHEDULES, STRATEGIES, modelFamily, parseFault, type ModelFamily, type ModelName } from '../domain.js';

export const COMMANDS = ['train', 'sample', 'eval', 'bench', 'info', 'serve', 'dashboard', 'worker'] as const;
export type CommandName = (typeof COMMANDS)[number];

/**
 * Epochs trained when neither `epochs` nor `steps` is given: two passes over
 * MNIST train dcgan-small in about 4 minutes on 2 cores (the 5-minute budget; README, Quality, measured).
 */
export const DEFAULT_EPOCHS = 2;

export const NAN_POLICIES = ['stop', 'skip'] as const;

interface FieldBase {
  /** The CLI spelling. Unique within each command (bench's `--workers` is `workerCounts`). */
  readonly flag: `--${string}`;
  readonly help: string;
  /** Help text for commands where the field means something more specific. */
  readonly helpFor?: Partial<Record<CommandName, string>>;
  /** The commands that accept this field. */
  readonly commands: readonly CommandName[];
  /** Commands for which the field must be given. */
  readonly required?: readonly CommandName[];
  /** Fields sharing a group name are mutually exclusive (`epochs` | `steps`). */
  readonly exclusive?: string;
  /** How help describes a default that is computed rather than fixed. */
  readonly defaultText?: string;
  /** `defaultText` for one command. */
  readonly defaultFor?: Partial<Record<CommandName, string>>;
  readonly placeholder?: string;
  /** Describes one invocation, not the run (`--json`, `--fault`): `--resume` does not inherit it. */
  readonly transient?: boolean;
}

export interface IntField extends FieldBase {
  readonly kind: 'int';
  readonly min?: number;
  readonly max?: number;
  readonly default?: number;
  readonly byFamily?: Readonly<Record<ModelFamily, number>>;
  /** Models whose default differs from their family's. */
  readonly byModel?: Readonly<Partial<Record<ModelName, number>>>;
}

export interface NumberField extends FieldBase {
  readonly kind: 'number';
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  /** Exclusive upper bound. */
  readonly below?: number;
  readonly default?: number;
  /** A default that depends on the model family (GAN or VAE). */
  readonly byFamily?: Readonly<Record<ModelFamily, number>>;
  /** Models whose default differs from their family's. */
  readonly byModel?: Readonly<Partial<Record<ModelName, number>>>;
}

export interface StringField extends FieldBase {
  readonly kind: 'string';
  readonly default?: string;
  /** A format the string must have, and how an error message describes it. */
  readonly format?: { readonly expected: string; readonly test: (value: string) => boolean };
}

export interface EnumField extends FieldBase {
  readonly kind: 'enum';
  readonly values: readonly string[];
  readonly default?: string;
}

export interface BoolField extends FieldBase {
  readonly kind: 'bool';
  readonly default: boolean;
}

/** A list of integers; on the CLI, comma-separated (`--workers 1,2,4`). */
export interface IntListField extends FieldBase {
  readonly kind: 'intList';
  readonly min?: number;
  readonly default?: readonly number[];
}

/** A list of enum values; on the CLI, comma-separated (`--models vae-mlp,dcgan`). */
export interface EnumListField extends FieldBase {
  readonly kind: 'enumList';
  readonly values: readonly string[];
  readonly default?: readonly string[];
}

export type FieldSpec = IntField | NumberField | StringField | EnumField | BoolField | IntListField | EnumListField;

const ALL = COMMANDS;

/** The default of a per-model field (`byModel`, else `byFamily`) for `model`. */
export function modelDefault(spec: Pick<NumberField, 'byFamily' | 'byModel'>, model: ModelName): number | undefined {
  return spec.byModel?.[model] ?? spec.byFamily?.[modelFamily(model)];
}

/**
 * The table. Order matters: it is the order of `--help` and of `config.json`.
 */
export const FIELDS = {
  model: {
    kind: 'enum', flag: '--model', values: MODELS, default: 'dcgan-small', commands: ['train'],
    help: 'network to train',
  },
  dataset: {
    kind: 'string', flag: '--dataset', default: 'mnist', commands: ['train'], placeholder: '<mnist|path>',
    help: "'mnist' (built in), a folder of IDX files, or a .npy file of images",
  },
  epochs: {
    kind: 'int', flag: '--epochs', min: 1, commands: ['train'], exclusive: 'length',
    defaultText: `${DEFAULT_EPOCHS} when --steps is not given`,
    help: 'passes over the training set (or give --steps)',
  },
  steps: {
    kind: 'int', flag: '--steps', min: 1, commands: ['train'], exclusive: 'length',
    help: 'optimizer steps to train (instead of --epochs)',
  },
  batchSize: {
    kind: 'int', flag: '--batch-size', min: 1, byFamily: { gan: 64, vae: 128 }, byModel: { 'dcgan-small': DCGAN_SMALL_BATCH },
    commands: ['train'],
    help: 'examples per optimizer step (the global batch, split across data-parallel replicas)',
  },
  lr: {
    kind: 'number', flag: '--lr', above: 0, byFamily: { gan: 2e-4, vae: 1e-3 }, byModel: { 'dcgan-small': DCGAN_SMALL_LR },
    commands: ['train'],
    help: 'Adam learning rate',
  },
  beta1: {
    kind: 'number', flag: '--beta1', min: 0, below: 1, byFamily: { gan: 0.5, vae: 0.9 }, byModel: { 'dcgan-small': DCGAN_SMALL_BETA1 },
    commands: ['train'], help: "Adam's first-moment decay",
  },
  ema: {
    kind: 'number', flag: '--ema', min: 0, below: 1, byFamily: { gan: 0, vae: 0 }, byModel: { 'dcgan-small': DCGAN_SMALL_EMA },
    commands: ['train'],
    help: "decay of a moving average of the generator's weights, which sample, eval and serve use (0: none; GANs only); at update t it is at most (1+t)/(10+t)",
  },
  seed: {
    kind: 'int', flag: '--seed', min: 0, max: 0xffffffff, default: 0, commands: ['train', 'sample', 'eval', 'bench'],
    help: 'random seed: same seed, same batches, noise and weights',
  },
  backend: {
    kind: 'enum', flag: '--backend', values: BACKENDS, default: 'auto', commands: ALL,
    help: 'TensorFlow.js backend; auto tries gpu, webgpu (a real GPU adapter), native, wasm, cpu in that order',
  },
  strategy: {
    kind: 'enum', flag: '--strategy', values: STRATEGIES, default: 'auto', commands: ['train'],
    help: 'how actors are spread over workers',
  },
  workers: {
    kind: 'int', flag: '--workers', min: 1, commands: ['train', 'sample', 'serve'],
    defaultFor: { train: 'chosen by the strategy and the core count', serve: '1' },
    help: 'worker threads (or processes) to use',
    helpFor: { sample: 'workers that generate in parallel', serve: 'worker threads that generate (about one per core)' },
  },
  microbatches: {
    kind: 'int', flag: '--microbatches', min: 1, default: 4, commands: ['train'],
    help: 'microbatches per batch (pipeline strategy)',
  },
  schedule: {
    kind: 'enum', flag: '--schedule', values: SCHEDULES, default: '1f1b', commands: ['train'],
    help: 'pipeline schedule: all forwards then all backwards (gpipe), or interleaved (1f1b)',
  },
  host: {
    kind: 'enum', flag: '--host', values: HOSTS, default: 'thread', commands: ['train'],
    help: 'where actors live: worker threads, or child processes (needed for native backends; webgpu uses them except for data replicas)',
  },
  out: {
    kind: 'string', flag: '--out', commands: ['train', 'sample', 'bench'], placeholder: '<path>',
    help: 'output path',
    helpFor: {
      train: 'run directory',
      sample: 'output file: .png (a grid) or .npy (N×28×28 float32 in [0, 1])',
      bench: 'folder for bench.json, the markdown report and the chart',
    },
    defaultFor: { train: 'runs/<model>-<YYYYMMDD-HHMMSS>' },
  },
  json: {
    kind: 'bool', flag: '--json', default: false, commands: ALL, transient: true,
    help: 'print JSON lines (one object per event) instead of text',
  },
  checkpointEvery: {
    kind: 'int', flag: '--checkpoint-every', min: 1, default: 500, commands: ['train'],
    help: 'steps between checkpoints (one is always written at the end)',
  },
  keep: {
    kind: 'int', flag: '--keep', min: 1, default: 3, commands: ['train'],
    help: 'checkpoints to keep (the newest)',
  },
  resume: {
    kind: 'string', flag: '--resume', commands: ['train'], placeholder: '<dir>', transient: true,
    help: "continue the run in <dir> from its last good checkpoint, with that run's config",
  },
  onNan: {
    kind: 'enum', flag: '--on-nan', values: NAN_POLICIES, default: 'stop', commands: ['train'],
    help: 'on a NaN or Inf loss or gradient: stop with an error, or skip the batch and count it',
  },
  sampleEvery: {
    kind: 'int', flag: '--sample-every', min: 0, default: 500, commands: ['train'],
    help: 'steps between sample grids (0: only the final one)',
  },
  maxRestarts: {
    kind: 'int', flag: '--max-restarts', min: 0, default: 3, commands: ['train'],
    help: 'restarts allowed per crashed actor before the run fails',
  },
  snapshotEvery: {
    kind: 'int', flag: '--snapshot-every', min: 1, default: 10, commands: ['train'],
    help: 'steps between in-memory actor snapshots that a restart resumes from',
  },
  prefetch: {
    kind: 'int', flag: '--prefetch', min: 1, default: 4, commands: ['train'],
    help: 'batches the data loader prepares ahead',
  },
  fault: {
    kind: 'string', flag: '--fault', commands: ['train'], placeholder: 'crash:<actor>@<step>', transient: true,
    format: {
      expected: `'crash:<actor>@<step>' with <actor> one of ${ACTORS.join(', ')}`,
      test: (value: string) => parseFault(value) !== undefined,
    },
    help: "testing: kill that actor's thread at that step",
  },
  dashboard: {
    kind: 'int', flag: '--dashboard', min: 0, max: 65535, commands: ['train'], placeholder: '<port>', transient: true,
    help: 'also serve paragen dashboard for the runs folder on this port (0: any free port) while training',
  },
  run: {
    kind: 'string', flag: '--run', commands: ['sample', 'eval', 'serve'], required: ['sample', 'eval', 'serve'], placeholder: '<dir>',
    help: 'run directory to read the trained networks from',
  },
  weights: {
    kind: 'enum', flag: '--weights', values: ['ema', 'trained'], default: 'ema', commands: ['eval'],
    help: "the generator's moving average of weights where the run kept one (--ema), or its trained weights",
  },
  n: {
    kind: 'int', flag: '--n', min: 1, default: 64, commands: ['sample'],
    help: 'images to generate',
  },
  quick: {
    kind: 'bool', flag: '--quick', default: false, commands: ['bench'],
    help: 'a short benchmark (under 2 minutes)',
  },
  models: {
    kind: 'enumList', flag: '--models', values: MODELS, default: ['vae-mlp', 'dcgan'], commands: ['bench'],
    help: 'models to benchmark, comma-separated',
  },
  strategies: {
    kind: 'enumList', flag: '--strategies', values: ['single', 'data', 'model', 'pipeline'],
    default: ['single', 'data', 'model', 'pipeline'], commands: ['bench'],
    help: 'strategies to benchmark, comma-separated',
  },
  workerCounts: {
    kind: 'intList', flag: '--workers', min: 1, default: [1, 2], commands: ['bench'],
    help: 'worker counts to benchmark, comma-separated',
  },
  // ---- paragen serve and paragen dashboard (src/serve/) ----
  port: {
    kind: 'int', flag: '--port', min: 0, max: 65535, commands: ['serve', 'dashboard'],
    // Each server has its own default (src/cli/commands/serve.ts, dashboard.ts), so both can run side by side.
    defaultFor: { serve: '8080', dashboard: '8081' },
    help: 'TCP port to listen on (0: any free port)',
  },
  // `--host` is train's thread|process choice, so the listening address is `listen` with the flag --host.
  listen: {
    kind: 'string', flag: '--host', default: '127.0.0.1', commands: ['serve', 'dashboard'], placeholder: '<address>',
    help: 'address to listen on (0.0.0.0: every interface)',
  },
  maxBatch: {
    kind: 'int', flag: '--max-batch', min: 1, default: 256, commands: ['serve'],
    help: 'images per batch: concurrent requests are joined up to this many',
  },
  maxWaitMs: {
    kind: 'int', flag: '--max-wait-ms', min: 0, default: 5, commands: ['serve'],
    help: 'how long a request may wait for others to join its batch',
  },
  maxN: {
    kind: 'int', flag: '--max-n', min: 1, default: 1024, commands: ['serve'],
    help: 'most images one request may ask for',
  },
  queue: {
    kind: 'int', flag: '--queue', min: 1, default: 256, commands: ['serve'],
    help: 'requests that may wait for a worker; beyond them the answer is 503 with Retry-After',
  },
  token: {
    kind: 'string', flag: '--token', commands: ['serve'], placeholder: '<secret>', transient: true,
    help: 'require Authorization: Bearer <secret> on every route but /healthz and /readyz',
  },
  watch: {
    kind: 'bool', flag: '--watch', default: false, commands: ['serve'],
    help: "serve the run's newest good checkpoint as soon as it is written",
  },
  runs: {
    kind: 'string', flag: '--runs', default: 'runs', commands: ['dashboard'], placeholder: '<dir>',
    help: 'folder holding the run directories to show',
  },
  ...WORKER_FIELDS,
} as const satisfies Record<string, FieldSpec>;

export type Fields = typeof FIELDS;
export type FieldName = keyof Fields;
export const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

/** The spec of a field, seen through the general row type. */
export function field(name: FieldName): FieldSpec {
  return FIELDS[name];
}

/** The fields a command accepts, in table order. */
export function fieldsOf(command: CommandName): FieldName[] {
  return FIELD_NAMES.filter((name) => (field(name).commands as readonly string[]).includes(command));
}

// ---- types computed from the table ----

type ValueOf<F> = F extends { kind: 'int' | 'number' }
  ? number
  : F extends { kind: 'bool' }
    ? boolean
    : F extends { kind: 'enum'; values: readonly (infer V)[] }
      ? V
      : F extends { kind: 'intList' }
        ? number[]
        : F extends { kind: 'enumList'; values: readonly (infer V)[] }
          ? V[]
          : string;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type KeysOf<C extends CommandName> = {
  [K in FieldName]: C extends Fields[K]['commands'][number] ? K : never;
}[FieldName];

/** A field is always present after parsing when it has a default or the command requires it. */
type AlwaysSet<F, C> = F extends { default: unknown } | { byFamily: unknown }
  ? true
  : F extends { required: readonly (infer R)[] }
    ? C extends R
      ? true
      : false
    : false;

type SetKeys<C extends CommandName> = {
  [K in KeysOf<C>]: AlwaysSet<Fields[K], C> extends true ? K : never;
}[KeysOf<C>];

/** The validated settings of a command, defaults filled in. */
export type CommandConfig<C extends CommandName> = Simplify<
  { [K in SetKeys<C>]: ValueOf<Fields[K]> } & { [K in Exclude<KeysOf<C>, SetKeys<C>>]?: ValueOf<Fields[K]> }
>;

/** What a caller may pass for a command: every field optional. */
export type CommandInput<C extends CommandName> = Simplify<{ [K in KeysOf<C>]?: ValueOf<Fields[K]> }>;

/** Any subset of the table's fields: what a config file or a set of flags holds before merging. */
export type ConfigValues = { [K in FieldName]?: ValueOf<Fields[K]> };

/**
 * The settings of a training run: `train(config)`, `paragen train`, and a run
 * directory's `config.json`. After parsing, exactly one of `epochs` and `steps` is set.
 */
export type RunConfig = CommandConfig<'train'>;
/** The Node API's input for `train()`: any subset of `RunConfig`. */
export type RunConfigInput = CommandInput<'train'>;
export type SampleConfig = CommandConfig<'sample'>;
export type EvalConfig = CommandConfig<'eval'>;
export type BenchConfig = CommandConfig<'bench'>;
export type InfoConfig = CommandConfig<'info'>;
export type ServeConfig = CommandConfig<'serve'>;
export type DashboardConfig = CommandConfig<'dashboard'>;
export type WorkerConfig = CommandConfig<'worker'>;
