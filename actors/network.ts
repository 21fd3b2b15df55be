/**
 * What the generator, discriminator, encoder and decoder actors share: one
 * `NetworkPart` (network + Adam), this step's gradients held until the
 * coordinator says apply or discard, snapshots for the supervisor,
 * checkpoint files, and tensor bookkeeping.
 *
 * A step's gradients never leave the actor: it reports their sum (finite iff
 * every gradient is), the coordinator decides for every network at once —
 * as `LocalEngine` does — and then each actor applies or drops its own.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, RequestTable } from '../src/actor/protocol.js';
import { transfer } from '../src/actor/wire.js';
import { useBackend, type BackendChoice } from '../src/backend/index.js';
import { errors } from '../src/errors.js';
import {
  adamConfig,
  createPart,
  modelSpec,
  sampleImages,
  type AdamState,
  type ModelSpec,
  type NetworkName,
  type NetworkPart,
} from '../src/models/index.js';
import { decodePart, encodePart, type FileMap } from '../src/models/state.js';
import { Rng } from '../src/rng.js';

export interface NetworkInit {
  readonly model: string;
  /** The run seed: weights are drawn from it exactly as `createPart` does in one thread. */
  readonly seed: number;
  readonly lr: number;
  readonly beta1: number;
  /** Chosen once per worker: every network actor on one thread must agree. */
  readonly backend: BackendChoice;
}

/** A request that belongs to step `step` (1-based). */
export interface StepRequest {
  readonly step: number;
}

/** The sum of every gradient of this step: finite iff all of them are. */
export interface GradientReport {
  readonly gradSum: number;
}

/** Every weight (trainable and not, in `model.weights` order) and the optimizer state. */
export interface NetworkSnapshot {
  readonly weights: Float32Array[];
  readonly optimizer: AdamState;
}

export interface TensorCount {
  readonly tensors: number;
  readonly bytes: number;
}

export interface SampleRequest {
  readonly n: number;
  readonly seed: number;
}

export type NetworkEvent = { readonly type: 'warning'; readonly message: string };

/** Requests every network actor answers. */
export interface NetworkProtocol {
  /** One optimizer update with the gradients held for `step`. */
  apply(request: StepRequest): Promise<void>;
  /** Drops the held gradients and the step's batch statistics (a non-finite step). */
  discard(): Promise<void>;
  snapshot(): Promise<NetworkSnapshot>;
  /** Back to `snapshot`'s weights and optimizer state; any step in progress is dropped. */
  restore(snapshot: NetworkSnapshot): Promise<void>;
  /** Checkpoint files (`<name>/model.json`, …, as `encodePart`). */
  save(): Promise<FileMap>;
  /** Decodes checkpoint files into a new part, kept aside until `commit` (so a bad file changes nothing). */
  stage(files: Readonly<Record<string, Uint8Array>>): Promise<void>;
  /** Swaps the staged part in. */
  commit(): Promise<void>;
  /** Drops the staged part. */
  abort(): Promise<void>;
  /** Live tensors in this actor's thread: flat across steps. */
  memory(): Promise<TensorCount>;
}

/** The request table of `NetworkProtocol`, spread into each network actor's own. */
export const networkRequests = {
  apply: true,
  discard: true,
  snapshot: true,
  restore: true,
  save: true,
  stage: true,
  commit: true,
  abort: true,
  memory: true,
} as const satisfies RequestTable<NetworkProtocol>;

let backendChoice: BackendChoice | undefined;
let backendReady: Promise<unknown> | undefined;

/** Sets this worker's backend once (each worker thread has its own TensorFlow.js and wasm instance). */
export async function ensureBackend(choice: BackendChoice): Promise<void> {
  if (backendReady === undefined) {
    backendChoice = choice;
    backendReady = useBackend(choice);
  } else if (backendChoice !== choice) {
    throw errors.invalidValue('backend', `'${backendChoice}' like the other actors of this worker`, choice);
  }
  await backendReady;
}

/**
 * A tensor's values in a buffer of their own, safe to transfer: wasm's
 * `dataSync` already copies out of its heap; the cpu backend hands out its
 * own storage, which must not move.
 */
export function exportTensor(t: tf.Tensor): Float32Array {
  const data = t.dataSync() as Float32Array;
  return tf.getBackend() === 'wasm' ? data : data.slice();
}

export abstract class NetworkActor implements NetworkProtocol {
  readonly network: NetworkName;
  protected readonly spec: ModelSpec;
  protected readonly ctx: ActorContext<NetworkEvent>;
  protected part: NetworkPart;
  readonly #init: NetworkInit;
  #held: { step: number; grads: tf.Tensor[] } | undefined;
  #staged: NetworkPart | undefined;

  protected constructor(network: NetworkName, init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    this.network = network;
    this.#init = init;
    this.ctx = ctx;
    this.spec = modelSpec(init.model);
    this.part = createPart(this.spec, network, init.seed, { lr: init.lr, beta1: init.beta1 });
  }

  /** Tensors this actor holds between the requests of one step (inputs, activations): dropped here. */
  protected abstract clearStep(): void;

  /** Holds `grads` (already kept) for `step`; returns their sum, computed as `LocalEngine` checks it. */
  protected hold(step: number, grads: tf.Tensor[]): number {
    this.#dropGrads();
    this.#held = { step, grads };
    const sum = tf.tidy(() => tf.addN(grads.map((g) => tf.sum(g))));
    try {
      return sum.dataSync()[0]!;
    } finally {
      sum.dispose();
    }
  }

  /** The step-state entry `step` is in: throws when a request arrives out of order. */
  protected expect<T extends { step: number }>(state: T | undefined, step: number, what: string): T {
    if (!state || state.step !== step) {
      throw errors.internal(`${this.network}: ${what} for step ${step} without its forward pass (have ${state?.step ?? 'none'})`);
    }
    return state;
  }

  async apply(request: StepRequest): Promise<void> {
    const held = this.expect(this.#held, request.step, 'apply');
    tf.tidy(() => this.part.apply(held.grads));
    this.#dropGrads();
    this.clearStep();
  }

  async discard(): Promise<void> {
    this.#dropGrads();
    this.part.discardStepState();
    this.clearStep();
  }

  async snapshot(): Promise<NetworkSnapshot> {
    const weights = this.part.getWeights();
    const optimizer = this.part.getOptimizerState();
    return transfer({ weights, optimizer }, [...weights, ...optimizer.m, ...optimizer.v]);
  }

  async restore(snapshot: NetworkSnapshot): Promise<void> {
    await this.discard();
    this.part.setWeights(snapshot.weights);
    this.part.setOptimizerState(snapshot.optimizer);
  }

  async save(): Promise<FileMap> {
    const files = await encodePart(this.part);
    return transfer(files, Object.values(files).filter((f): f is Uint8Array => f instanceof Uint8Array));
  }

  async stage(files: Readonly<Record<string, Uint8Array>>): Promise<void> {
    await this.abort();
    const optimizer = adamConfig(this.spec, { lr: this.#init.lr, beta1: this.#init.beta1 });
    this.#staged = await decodePart(this.network, new Map(Object.entries(files)), optimizer);
  }

  async commit(): Promise<void> {
    const staged = this.#staged;
    if (!staged) throw errors.internal(`${this.network}: commit without a staged checkpoint`);
    await this.discard();
    this.part.dispose();
    this.part = staged;
    this.#staged = undefined;
  }

  async abort(): Promise<void> {
    this.#staged?.dispose();
    this.#staged = undefined;
  }

  async memory(): Promise<TensorCount> {
    const { numTensors, numBytes } = tf.memory();
    return { tensors: numTensors, bytes: numBytes };
  }

  /** `n` images in [0, 1] from noise drawn with `seed`, as `LocalEngine.sample`. */
  protected images(request: SampleRequest): { readonly images: Float32Array } {
    const images = sampleImages(this.spec, this.part, request.n, new Rng(request.seed));
    return transfer({ images }, [images]);
  }

  /** Called by the runtime when the actor stops. */
  dispose(): void {
    this.#dropGrads();
    this.clearStep();
    this.#staged?.dispose();
    this.part.dispose();
  }

  #dropGrads(): void {
    if (this.#held) tf.dispose(this.#held.grads);
    this.#held = undefined;
  }
}
