/**
 * The events of a training run: what `run.events$` emits, what `--json` prints
 * (one object per line) and what the progress display renders. A discriminated
 * union on `type`, so a `switch` over it is checked for exhaustiveness.
 */
import type { BackendInfo } from '../backend/index.js';
import type { ErrorCode } from '../errors.js';
import type { RestartEvent, WarningEvent } from '../parallel/engine.js';
import type { ActorName } from '../domain.js';
import type { RunConfig } from './config-schema.js';

export type { ActorName } from '../domain.js';

/** Id of a worker in the pool (thread or process host), 0-based. */
export type WorkerId = number;

/** The backend a run uses, and why `auto` (or the user) chose it. */
export type RunBackend = Readonly<Pick<BackendInfo, 'name' | 'reason'>>;

/** The run has placed its actors and is about to take its first step. */
export interface StartEvent {
  readonly type: 'start';
  readonly config: RunConfig;
  /**
   * Which worker holds each actor of the model (a GAN has no encoder, a VAE
   * no generator); with data-parallel replicas, replica 0's actors.
   */
  readonly placement: Partial<Record<ActorName, WorkerId>>;
  /**
   * A cluster run: the `paragen worker` hosting each worker id, `name (host:port)`.
   * Replica r's actors are on workers `placement + r × stages`.
   */
  readonly hosts?: readonly string[];
  readonly backend: RunBackend;
  /** The strategy run (what `auto` resolved to), its worker count, and why. */
  readonly strategy: { readonly name: string; readonly workers: number; readonly reason: string };
  readonly runDir: string;
  /** Steps the whole run takes (from `steps`, or `epochs` × steps per epoch). */
  readonly totalSteps: number;
  /** Steps already done before this start: 0, or the checkpoint's step on `--resume`. */
  readonly startStep: number;
}

/** One optimizer step finished. */
export interface StepEvent {
  readonly type: 'step';
  /** Steps done so far, this one included (the first step is 1). */
  readonly step: number;
  /** The epoch this step belongs to, from 1. */
  readonly epoch: number;
  /** Named losses of this step, e.g. `{ discriminator, generator }` or `{ loss, bce, kl }`. */
  readonly losses: Readonly<Record<string, number>>;
  /** Throughput over recent steps. */
  readonly samplesPerSec: number;
}

export interface CheckpointEvent {
  readonly type: 'checkpoint';
  readonly step: number;
  /** The checkpoint's folder, `<runDir>/checkpoints/<step>`. */
  readonly path: string;
}

export interface SampleEvent {
  readonly type: 'sample';
  readonly step: number;
  /** The sample grid, `<runDir>/samples/<step>.png`. */
  readonly path: string;
}

export type { RestartEvent, WarningEvent } from '../parallel/engine.js';

/** The run finished (the final checkpoint and summary are written). */
export interface EndEvent {
  readonly type: 'end';
  readonly steps: number;
  /** Steady-state throughput, after warm-up. */
  readonly samplesPerSec: number;
  readonly wallSeconds: number;
  readonly runDir: string;
}

/** The run failed; `run.done` rejects with the same error. */
export interface ErrorEvent {
  readonly type: 'error';
  readonly message: string;
  readonly code: ErrorCode;
}

export type RunEvent =
  | StartEvent
  | StepEvent
  | CheckpointEvent
  | SampleEvent
  | RestartEvent
  | WarningEvent
  | EndEvent
  | ErrorEvent;

export type RunEventType = RunEvent['type'];

/** The event of one type: `EventOf<'step'>` is `StepEvent`. */
export type EventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;
