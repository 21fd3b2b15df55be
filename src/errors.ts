/**
 * The one table of paragen's errors. Every failure a user can cause is a
 * `ParagenError` with a stable `code` and a one-line message; the CLI prints
 * the message and exits with `exitCode` (2 for bad input), never a stack.
 */

export type ErrorCode =
  | 'INVALID_VALUE'
  | 'UNKNOWN_KEY'
  | 'BAD_FILE'
  | 'BACKEND_UNAVAILABLE'
  | 'RUN_LOCKED'
  | 'CHECKPOINT'
  | 'NON_FINITE'
  | 'ACTOR_FAILED'
  | 'STOPPED'
  | 'RUN_EXISTS'
  | 'NOT_BUILT'
  | 'DIVERGED'
  | 'FILE_SYSTEM'
  | 'CLUSTER'
  | 'INTERNAL';

/**
 * The exit codes of `paragen`, in one place (README "Exit codes" and
 * `paragen --help` list them). Signals exit as shells report them: 128 + signal.
 */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** Training (or another command) failed: an actor out of restarts, a bad checkpoint, an internal error. */
  failure: 1,
  /** Bad input: flags, values, config files, datasets. */
  usage: 2,
  /** A loss or gradient became NaN or Inf under `--on-nan stop`. */
  nonFinite: 3,
  /** Another live process holds the run directory's lock. */
  locked: 4,
  /** The filesystem refused a write: no space, read-only, permission, a virtual file system. */
  fileSystem: 5,
  /** Stopped by SIGINT (Ctrl-C). */
  sigint: 130,
  /** Stopped by SIGTERM. */
  sigterm: 143,
} as const;

export class ParagenError extends Error {
  override readonly name = 'ParagenError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Process exit status when this error ends a CLI command. */
    readonly exitCode: number = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Shows a value the way an error message quotes it: strings quoted, the rest as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export const errors = {
  /** `batchSize must be a positive integer, got -3` */
  invalidValue: (field: string, expected: string, got: unknown) =>
    new ParagenError('INVALID_VALUE', `${field} must be ${expected}, got ${show(got)}`, 2),
  /** `unknown key 'modle' (did you mean 'model'?)` */
  unknownKey: (key: string, suggestion?: string) =>
    new ParagenError(
      'UNKNOWN_KEY',
      `unknown key '${key}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      2,
    ),
  /** `data/train-images-idx3-ubyte: truncated: expected 47040016 bytes, found 1000` */
  badFile: (file: string, problem: string) => new ParagenError('BAD_FILE', `${file}: ${problem}`, 2),
  backendUnavailable: (message: string) => new ParagenError('BACKEND_UNAVAILABLE', message, 2),
  runLocked: (dir: string, pid: number) =>
    new ParagenError('RUN_LOCKED', `run directory ${dir} is being written by live process ${pid}`, EXIT.locked),
  checkpoint: (message: string) => new ParagenError('CHECKPOINT', message, 1),
  nonFinite: (network: string, step: number, what: string) =>
    new ParagenError('NON_FINITE', `${what} of ${network} is NaN or Inf at step ${step}`, EXIT.nonFinite),
  actorFailed: (actor: string, cause: string) =>
    new ParagenError('ACTOR_FAILED', `actor ${actor} failed: ${cause}`, 1),
  /** `actor generator is stopped` — a call to an actor after its system closed. */
  actorStopped: (actor: string) => new ParagenError('STOPPED', `actor ${actor} is stopped`, 1),
  /** A worker entry that only exists once TypeScript is compiled. */
  workerNotBuilt: (file: string) =>
    new ParagenError('NOT_BUILT', `worker entry ${file} is missing: run npm run build`, 1),
  /** `replica 1 diverged from replica 0 at step 50: decoder weights differ (checksum 0x1a2b3c4d, replica 0 0x5e6f7a8b)` */
  replicasDiverged: (replicas: readonly number[], step: number, what: string, sums: { readonly theirs: number; readonly first: number }) =>
    new ParagenError(
      'DIVERGED',
      `replica${replicas.length === 1 ? '' : 's'} ${replicas.join(', ')} diverged from replica 0 at step ${step}: ${what} differ (checksum ${hex(sums.theirs)}, replica 0 ${hex(sums.first)})`,
      1,
    ),
  internal: (message: string, cause?: unknown) => new ParagenError('INTERNAL', message, 1, { cause }),
  /** `unknown option '--batchsize' (did you mean '--batch-size'?)` */
  unknownOption: (flag: string, suggestion?: string) =>
    new ParagenError(
      'UNKNOWN_KEY',
      `unknown option '${flag}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      2,
    ),
  /** `unknown command 'trian' (did you mean 'train'?)` */
  unknownCommand: (name: string, suggestion?: string) =>
    new ParagenError(
      'UNKNOWN_KEY',
      `unknown command '${name}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      2,
    ),
  /** `key 'n' does not apply to train` — a known key given to a command that does not use it. */
  notApplicable: (key: string, command: string) =>
    new ParagenError('UNKNOWN_KEY', `key '${key}' does not apply to ${command}`, 2),
  /** `option '--lr' needs a value` */
  missingValue: (flag: string, got?: string) =>
    new ParagenError('INVALID_VALUE', `option '${flag}' needs a value${got === undefined ? '' : `, got ${show(got)}`}`, 2),
  /** `unexpected argument 'foo' (paragen train takes options only)` */
  unexpectedArgument: (arg: string, command: string) =>
    new ParagenError('INVALID_VALUE', `unexpected argument ${show(arg)} (paragen ${command} takes options only)`, 2),
  /** `run is required (--run <dir>)` */
  missing: (field: string, flag: string) => new ParagenError('INVALID_VALUE', `${field} is required (${flag})`, 2),
  /** `epochs and steps cannot both be set, got epochs 3 and steps 100` */
  conflict: (a: string, aValue: unknown, b: string, bValue: unknown) =>
    new ParagenError(
      'INVALID_VALUE',
      `${a} and ${b} cannot both be set, got ${a} ${show(aValue)} and ${b} ${show(bValue)}`,
      2,
    ),
  /** A lock from another host whose heartbeat is still fresh. */
  runLockedElsewhere: (dir: string, pid: number, host: string, staleInSeconds: number) =>
    new ParagenError(
      'RUN_LOCKED',
      `run directory ${dir} is locked by process ${pid} on host ${host}; if that run is gone, retry in ${staleInSeconds} s (when its heartbeat is stale) or delete ${dir}/run.lock`,
      EXIT.locked,
    ),
  /** `runs/a/checkpoints/40: cannot write the checkpoint: no space left on the device; kept the last good checkpoint runs/a/checkpoints/20; free space on that disk, then resume: paragen train --resume runs/a` */
  fileSystem: (path: string, action: string, reason: string, kept: string, fix: string, cause?: unknown) =>
    new ParagenError('FILE_SYSTEM', `${path}: cannot ${action}: ${reason}; ${kept}; ${fix}`, EXIT.fileSystem, { cause }),
  /** An existing run directory given as a fresh `--out`: resuming it must be asked for. */
  runExists: (dir: string) =>
    new ParagenError(
      'RUN_EXISTS',
      `run directory ${dir} already holds a run; pass --resume ${dir} to continue it, or choose another --out`,
      2,
    ),
  /** A command whose body another issue delivers: say so rather than fake output. */
  notBuilt: (command: string) => new ParagenError('NOT_BUILT', `paragen ${command} is not built yet`, 1),
  /** `cannot reach NATS at nats://127.0.0.1:1: connection refused` */
  clusterUnreachable: (url: string, why: string) => new ParagenError('CLUSTER', `cannot reach NATS at ${url}: ${why}`, 1),
  /** `found 1 of 2 workers within 5000 ms: w1 (10.0.0.5:7000)` */
  workersMissing: (wanted: number, found: readonly string[], ms: number, busy: readonly string[] = []) =>
    new ParagenError('CLUSTER', `found ${found.length} of ${wanted} workers within ${ms} ms${found.length ? `: ${found.join(', ')}` : ''}${busyNote(busy)}`, 1),
  /** `no worker to replace w1 (10.0.0.5:7000) within 30000 ms` */
  noReplacement: (lost: string, ms: number, busy: readonly string[] = [], floor = '') =>
    new ParagenError('CLUSTER', `no idle worker to replace ${lost} within ${ms} ms${busyNote(busy)}${floor}`, 1),
  /** `tensor link to rank 2 lost: connection closed` */
  peerLost: (rank: number, why: string) => new ParagenError('CLUSTER', `tensor link to rank ${rank} lost: ${why}`, 1),
  /** `tensor connection to rank 1 at 127.0.0.1:7000 refused: wrong token` */
  linkRefused: (rank: number, address: string, why: string) =>
    new ParagenError('CLUSTER', `tensor connection to rank ${rank} at ${address} refused: ${why}`, 1),
  /** `all-reduce 3 timed out after 30000 ms waiting for rank 1` */
  collectiveTimeout: (what: string, ms: number, rank: number) =>
    new ParagenError('CLUSTER', `${what} timed out after ${ms} ms waiting for rank ${rank}`, 1),
} as const;

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** Several validation problems reported at once, one per line. */
export function combine(problems: ParagenError[]): ParagenError {
  if (problems.length === 1) return problems[0]!;
  return new ParagenError(problems[0]?.code ?? 'INVALID_VALUE', problems.map((p) => p.message).join('\n'), 2);
}

/** `; busy with other runs: w3 (10.0.0.7:7000)` */
function busyNote(busy: readonly string[]): string {
  return busy.length ? `; busy with other runs: ${busy.join(', ')}` : '';
}
