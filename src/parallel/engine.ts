/**
 * What a training run asks of a parallel strategy. The run loop (`src/run/`)
 * owns the run directory, events, checkpoints on disk, signals and the NaN
 * policy; an engine owns the networks, their optimizers, the data cursor and
 * the step randomness, wherever they live (this thread, worker threads,
 * child processes).
 */
import type { Observable } from 'rxjs';
import type { NetworkName } from '../models/index.js';
import type { ActorName } from '../domain.js';

/** A step's outcome. */
export interface StepResult {
  /** Named losses: `{ discriminator, generator }` for a GAN, `{ loss, bce, kl }` for a VAE. */
  readonly losses: Readonly<Record<string, number>>;
  /** Examples consumed (the global batch). */
  readonly samples: number;
  /** The epoch (from 0) and batch index of the batch this step trained on. */
  readonly epoch: number;
  /**
   * Set when a loss or a gradient was NaN or Inf. Then no update was applied,
   * and `nonFinite` names the first network concerned and what was not finite.
   */
  readonly nonFinite?: { readonly network: string; readonly what: 'loss' | 'gradient' };
  /**
   * Strategies with pipeline stages (`model`, `pipeline`): the share of the
   * step each stage sat idle, averaged over stages (and replicas), beside the
   * ideal (p−1)/(m+p−1) of p balanced stages and m microbatches.
   */
  readonly bubble?: { readonly measured: number; readonly ideal: number };
}

/** Files of a checkpoint, relative path → contents (see `src/run/checkpoint.ts`). */
export type StateFiles = Record<string, Uint8Array | string>;

/** A crashed actor was restarted from its last snapshot. */
export interface RestartEvent {
  readonly type: 'restart';
  readonly actor: ActorName;
  readonly cause: string;
  /** 1 for the first restart of this actor. */
  readonly attempt: number;
}

/**
 * Something the user must know that does not stop the run: a corrupt
 * checkpoint skipped on resume, a batch skipped under `--on-nan skip`.
 */
export interface WarningEvent {
  readonly type: 'warning';
  readonly message: string;
  readonly step?: number;
}

/** Events an engine reports on its own (actor restarts, warnings); the run passes them on as its own. */
export type EngineEvent = RestartEvent | WarningEvent;

export interface Engine {
  /**
   * The step that `save()` describes, counted from the start of the run. It is
   * the steps done, except after a failure that the engine could not recover
   * from: then `save()` returns the last consistent snapshot, of this step.
   * Engines without supervision leave it undefined (always the steps done).
   */
  readonly stateStep?: number;
  /** The strategy the engine runs, on how many workers, and why (what `auto` chose). */
  readonly strategy: { readonly name: string; readonly workers: number; readonly reason: string };
  /** Which worker holds each actor (0-based worker ids; the main thread is worker 0 for the in-process engine). */
  readonly placement: Partial<Record<ActorName, number>>;
  /** Steps in one pass over the training data. */
  readonly stepsPerEpoch: number;
  readonly events$: Observable<EngineEvent>;
  /**
   * One optimizer step on the next global batch. With a non-finite loss or
   * gradient no update is applied; the batch still counts as consumed.
   */
  step(): Promise<StepResult>;
  /** Networks (standard TensorFlow.js artifacts), optimizer states, data cursor and RNG state. */
  save(): Promise<StateFiles>;
  /** Restores `save()`'s files, so the next step is the one that followed them. */
  restore(files: ReadonlyMap<string, Uint8Array>): Promise<void>;
  /** `n` images in [0, 1], [n, H, W, C] flattened, from noise drawn with `seed` (deterministic). */
  sample(n: number, seed: number): Promise<Float32Array>;
  /**
   * Every weight of one network (`model.weights` order, batch-norm statistics
   * included), copied: what a task needs to rebuild it off the training path
   * (the run loop's sample grids). Optional: without it, grids use `sample`.
   */
  networkWeights?(network: NetworkName): Promise<Float32Array[]>;
  /** Ends every actor and thread; idempotent. */
  close(): Promise<void>;
}
