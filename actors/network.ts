/**
 * What the generator, discriminator, encoder and decoder actors share: one
 * `NetworkPart` (network + Adam), this step's gradients held until the
 * coordinator says apply or discard, snapshots for the supervisor,
 * checkpoint files, and tensor bookkeeping.
 *
 * A step's gradients never leave the actor: it reports their sum (finite iff
 * every gradient is), the coordinator decides for every network at once —
 * as `LocalEngine` does — and then each actor applies or drops its own.
 *
 * Microbatches and replicas. A step may reach an actor in chunks (pipeline
 * microbatches): chunk 0 starts the step's gradients, each later chunk adds
 * its own (already weighted by its share of the batch, see chunks.ts). On the
 * last chunk a data-parallel replica all-reduces the sum with its peers in a
 * collective of the runtime (src/actor/collective): every replica then holds the same
 * gradients, bit for bit, and makes the same update.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, RequestTable } from '../src/actor/protocol.js';
import { TcpPair } from '../src/actor/index.js';
import { transfer } from '../src/actor/wire.js';
import { useBackend, type BackendChoice } from '../src/backend/index.js';
import { errors } from '../src/errors.js';
import {
  adamConfig,
  averagedImageNetwork,
  createPart,
  modelSpec,
  runOptimizer,
  sampleImages,
  type AdamState,
  type ModelSpec,
  type NetworkName,
  type NetworkPart,
} from '../src/models/index.js';
import { decodePart, encodePart, type FileMap } from '../src/models/state.js';
import { Rng } from '../src/rng.js';
import { StepGradients, type Collected } from './step-gradients.js';

import type {
  Checksum,
  ChunkRequest,
  NetworkEvent,
  GradientReport,
  NetworkInit,
  NetworkProtocol,
  NetworkSnapshot,
  RingAddresses,
  RingOpen,
  RingPeers,
  SampleRequest,
  StepRequest,
  TensorCount,
  Timed,
} from './protocol.js';

export type { ReplicaReduce, NetworkInit, StepRequest, ChunkRequest, Timed, GradientReport, NetworkSnapshot, TensorCount, Checksum, SampleRequest, NetworkEvent, NetworkProtocol, RingOpen, RingAddresses, RingPeers } from './protocol.js';

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
  checksum: true,
  ringOpen: true,
  ringConnect: true,
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
 * read already copies out of its heap; the cpu backend hands out its own
 * storage, and webgpu keeps what it read, which must not move.
 */
export async function exportTensor(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  return tf.getBackend() === 'wasm' ? data : data.slice();
}

export abstract class NetworkActor implements NetworkProtocol {
  readonly network: NetworkName;
  protected readonly spec: ModelSpec;
  protected readonly ctx: ActorContext<NetworkEvent>;
  protected part: NetworkPart;
  readonly #init: NetworkInit;
  readonly #gradients: StepGradients;
  /** The pair to the replica's other stage, when activations go direct (`NetworkInit.stage`). */
  readonly #pair: TcpPair | undefined;
  #staged: NetworkPart | undefined;

  protected constructor(network: NetworkName, init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    this.network = network;
    this.#init = init;
    this.ctx = ctx;
    this.spec = modelSpec(init.model);
    this.part = createPart(this.spec, network, init.seed, runOptimizer(network, init));
    this.#gradients = new StepGradients(network, this.part, init.replica);
    this.#pair = init.stage ? new TcpPair(init.stage) : undefined;
  }

  /**
   * Where a stage's output for microbatch `chunk` goes: over the stage pair
   * when there is one (then the reply carries nothing: undefined), else back
   * in the reply (`data`). A failed send is not this request's failure: the
   * other stage's own request then fails, as a death when its host is gone.
   */
  protected toOtherStage(chunk: number, data: Float32Array): Float32Array | undefined {
    if (!this.#pair) return data;
    try {
      this.#pair.send(chunk, data);
    } catch {
      // Reported by the other stage's request (see above).
    }
    return undefined;
  }

  /** A stage's input for microbatch `chunk`: `given` in the request, or what the other stage sent over the pair. */
  protected async fromOtherStage(chunk: number, given: Float32Array | undefined, what: string, floats?: number): Promise<Float32Array> {
    if (given) return given;
    if (!this.#pair) throw errors.internal(`${this.network}: a request without its ${what}, and no stage connection`);
    const data = await this.#pair.recv(chunk);
    if (floats !== undefined && data.length !== floats) {
      throw errors.peerLost(1 - this.#pair.side, `sent a ${what} of ${data.length} floats where ${floats} were due`);
    }
    return data;
  }

  /** Tensors this actor holds between the requests of one step (inputs, activations): dropped here. */
  protected abstract clearStep(): void;

  /**
   * The start of a forward request: marks the step reached (where a planned
   * fault fires) and, on a step's first chunk, drops what the last step left.
   * Returns the request's chunk.
   */
  protected beginForward(request: ChunkRequest): number {
    this.ctx.reached(request.step);
    const chunk = request.chunk ?? 0;
    if (chunk === 0) this.clearStep();
    return chunk;
  }

  /**
   * Adds chunk `request.chunk`'s gradients (kept, now owned here) to the
   * step's; on the last chunk, all-reduces them with the other replicas and
   * reports the finite check (step-gradients.ts).
   */
  protected collect(request: ChunkRequest, grads: tf.Tensor[]): Promise<Collected> {
    return this.#gradients.collect(request, grads);
  }

  /**
   * A backward reply: `fields` (moving the buffers `views`) with the gradient
   * report and the busy time since `started`, less the waits for other replicas.
   */
  protected report<T extends object>(
    started: number,
    collected: Collected,
    fields: T,
    views: readonly Float32Array[] = [],
  ): T & GradientReport {
    const { waited, ...report } = collected;
    return transfer({ ...fields, ...report, busy: performance.now() - started - waited }, views);
  }

  async apply(request: StepRequest): Promise<void> {
    const grads = this.#gradients.take(request.step);
    tf.tidy(() => this.part.apply(grads));
    this.#gradients.drop();
    this.clearStep();
    await this.#gradients.averageStatistics(this.part.model.nonTrainableWeights);
  }

  async discard(): Promise<void> {
    this.#gradients.drop();
    this.part.discardStepState();
    this.clearStep();
  }

  async snapshot(): Promise<NetworkSnapshot> {
    const [weights, optimizer] = await Promise.all([this.part.getWeights(), this.part.getOptimizerState()]);
    return transfer({ weights, optimizer }, [...weights, ...optimizer.m, ...optimizer.v, ...(optimizer.average ?? [])]);
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
    const optimizer = adamConfig(this.spec, runOptimizer(this.network, this.#init));
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

  async checksum(): Promise<Checksum> {
    const { step, m, v, average = [] } = await this.part.getOptimizerState();
    return { weights: hashFloats(await this.part.getWeights()), optimizer: hashFloats([new Float32Array([step]), ...m, ...v, ...average]) };
  }

  async ringOpen(request: RingOpen): Promise<RingAddresses> {
    const [rings, stage] = await Promise.all([
      this.#gradients.openRings(request.epoch, request.token),
      this.#pair?.open(request.epoch, request.token),
    ]);
    return { ...rings, ...(stage ? { stage } : {}) };
  }

  async ringConnect(request: RingPeers): Promise<void> {
    const pair = this.#pair;
    if (pair && !request.stage) throw errors.internal(`${this.network}: a rendezvous without the other stage's address`);
    await Promise.all([this.#gradients.connectRings(request), pair && request.stage ? pair.connect(request.stage) : undefined]);
  }

  /**
   * `n` images in [0, 1] from noise drawn with `seed`, as `LocalEngine.sample`:
   * from the moving average of the weights where this network keeps one (as
   * `paragen sample` from a checkpoint).
   */
  protected async images(request: SampleRequest): Promise<{ readonly images: Float32Array }> {
    const averaged = await averagedImageNetwork(this.part);
    try {
      const images = await sampleImages(this.spec, averaged ?? this.part, request.n, new Rng(request.seed));
      return transfer({ images }, [images]);
    } finally {
      averaged?.dispose();
    }
  }

  /** Called by the runtime when the actor stops. */
  dispose(): void {
    this.#gradients.drop();
    void this.#gradients.close();
    void this.#pair?.close();
    this.clearStep();
    this.#staged?.dispose();
    this.part.dispose();
  }
}

/** FNV-1a over the bits of every float: replicas with equal state have equal hashes. */
function hashFloats(arrays: readonly Float32Array[]): number {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const words = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  }
  return h >>> 0;
}
