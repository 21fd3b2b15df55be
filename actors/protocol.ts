/**
 * The protocol every network actor shares (generator, discriminator, encoder,
 * decoder): its init, the step requests and what they report, snapshots,
 * checkpoints and checksums. Each actor's own requests are declared beside
 * it; the coordinator (`src/parallel/`) speaks these types.
 */
import type { CollectiveEndpoint, HostPort, PairEndpoint } from '../src/actor/index.js';
import type { BackendChoice } from '../src/domain.js';
import type { AdamState } from '../src/models/index.js';
import type { FileMap } from '../src/models/state.js';

/**
 * How a data-parallel replica sums its gradients with its peers (a
 * collective of the runtime: shared buffers between thread hosts, a TCP ring
 * between process or remote hosts). `statistics`, for networks with batch norm, is the
 * group that averages the moving statistics after each update, weighted by
 * `share` — this replica's rows / the global batch: each replica normalises
 * with its own shard's statistics (as PyTorch DDP without SyncBatchNorm), but
 * the moving averages, and so every replica's weights, stay identical.
 */
export interface ReplicaReduce {
  readonly gradients: CollectiveEndpoint;
  readonly statistics?: CollectiveEndpoint;
  readonly share: number;
}

export interface NetworkInit {
  readonly model: string;
  /** The run seed: weights are drawn from it exactly as `createPart` does in one thread. */
  readonly seed: number;
  readonly lr: number;
  readonly beta1: number;
  /** The decay of the generator's moving average of weights (`--ema`; 0 or absent: none). Other networks keep none. */
  readonly ema?: number;
  /** Chosen once per worker: every network actor on one thread must agree. */
  readonly backend: BackendChoice;
  /** Data parallelism: this actor is one replica of its network. */
  readonly replica?: ReplicaReduce;
  /**
   * A pipeline stage on a process or remote host: activations and their
   * gradients go straight to and from the replica's other stage over a TCP
   * pair (connected at every rendezvous), not through the coordinator.
   * Requests and replies then leave those arrays out.
   */
  readonly stage?: PairEndpoint;
}

/** A request that belongs to step `step` (1-based). */
export interface StepRequest {
  readonly step: number;
}

/** A request for one microbatch of a step. */
export interface ChunkRequest extends StepRequest {
  /** Which microbatch of the step, from 0 (default 0: the batch is not split). */
  readonly chunk?: number;
  /** Whether it is the step's last microbatch here (default true): its gradients are then complete. */
  readonly last?: boolean;
}

/** What a request of a step's pipeline reports besides its results. */
export interface Timed {
  /** Milliseconds it computed, not counting waits for other replicas (the pipeline's busy time). */
  readonly busy: number;
}

/** A backward request's gradient report; only the last chunk of a step has a sum. */
export interface GradientReport extends Timed {
  /** The sum of every (all-reduced) gradient of this step: finite iff all of them are. */
  readonly gradSum?: number;
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

/** Hashes of a replica's state: equal replicas have equal hashes. */
export interface Checksum {
  /** Over every weight's bits (trainable and not). */
  readonly weights: number;
  /** Over Adam's step count and moments. */
  readonly optimizer: number;
}

/** A TCP replica's rings (and stage pair) for a new epoch (after a start or a restart): every frame carries it. */
export interface RingOpen {
  readonly epoch: number;
  /** The run's secret: a connection that does not present it is refused. */
  readonly token: string;
}

/** Where a replica's ring members and stage pair listen (none for shared-memory replicas). */
export interface RingAddresses {
  readonly gradients?: HostPort;
  readonly statistics?: HostPort;
  readonly stage?: HostPort;
}

/** Every replica's addresses, by replica, from their `ringOpen`; and the other stage's. */
export interface RingPeers {
  readonly gradients?: readonly HostPort[];
  readonly statistics?: readonly HostPort[];
  /** Where the replica's other stage listens (actors with a `stage` pair). */
  readonly stage?: HostPort;
}

export interface SampleRequest {
  readonly n: number;
  readonly seed: number;
}

export type NetworkEvent = { readonly type: 'warning'; readonly message: string };

/** Requests every network actor answers. */
export interface NetworkProtocol {
  /** One optimizer update with the gradients held for `step` (then, for replicas, the moving statistics averaged). */
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
  /** Hashes of the weights and optimizer state, to check that replicas agree. */
  checksum(): Promise<Checksum>;
  /** TCP replicas and stages, rendezvous part one: closes the last rings and listens for those of `epoch`. */
  ringOpen(request: RingOpen): Promise<RingAddresses>;
  /** Rendezvous part two: resolves once this replica's rings (and stage pair) are connected to its peers. */
  ringConnect(request: RingPeers): Promise<void>;
}

