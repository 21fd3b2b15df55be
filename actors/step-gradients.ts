/**
 * A network actor's gradients for the step in progress: started by the
 * step's first microbatch, added to by each later one (already weighted by
 * its share of the batch, chunks.ts), all-reduced with the other replicas of
 * the network after the last one (a collective of the runtime), and held until the
 * coordinator says apply or discard. After an update, replicas also average
 * their batch-norm moving statistics here.
 *
 * Not an actor: the part of `NetworkActor` (network.ts) that data and
 * pipeline parallelism add, kept apart from its protocol.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../src/errors.js';
import type { NetworkPart } from '../src/models/index.js';
import { joinAllReduce, TcpMember, type AllReduceMember } from '../src/actor/index.js';
import type { ChunkRequest, ReplicaReduce, RingAddresses, RingPeers } from './protocol.js';

/** What `collect` found: the gradient report of a last chunk, and the ms spent waiting for other replicas. */
export interface Collected {
  readonly gradSum?: number;
  readonly waited: number;
}

type LayerVariable = tf.layers.Layer['weights'][number];

/** Tensors while they are this replica's own; views of the shared sum once all-reduced. */
interface Held {
  step: number;
  chunks: number;
  grads: (tf.Tensor | Float32Array)[];
}

export class StepGradients {
  readonly #network: string;
  readonly #shapes: readonly (readonly number[])[];
  readonly #reducer: AllReduceMember | undefined;
  readonly #statistics: { readonly reducer: AllReduceMember; readonly share: number } | undefined;
  #held: Held | undefined;

  constructor(network: string, part: NetworkPart, replica: ReplicaReduce | undefined) {
    this.#network = network;
    this.#shapes = part.trainableShapes;
    if (!replica) return;
    const length = this.#shapes.reduce((n, s) => n + sizeOf(s), 0);
    const statistics = part.model.nonTrainableWeights.reduce((n, w) => n + sizeOf(w.shape as number[]), 0);
    const reducer = joinAllReduce(replica.gradients);
    const averager = replica.statistics ? joinAllReduce(replica.statistics) : undefined;
    if (reducer.length !== length || (averager?.length ?? 0) !== statistics) {
      throw errors.internal(
        `${network}: all-reduce groups of ${reducer.length} and ${averager?.length ?? 0} floats for ${length} trainable and ${statistics} other weights`,
      );
    }
    this.#reducer = reducer;
    if (averager) this.#statistics = { reducer: averager, share: replica.share };
  }

  /**
   * Adds chunk `request.chunk`'s gradients (kept; owned here from now on) to
   * the step's. On the last chunk, all-reduces them with the other replicas
   * and reports the sum that tells whether all are finite.
   */
  async collect(request: ChunkRequest, grads: tf.Tensor[]): Promise<Collected> {
    const chunk = request.chunk ?? 0;
    if (chunk === 0) {
      this.drop();
      this.#held = { step: request.step, chunks: 1, grads };
    } else {
      const held = this.#held;
      if (!held || held.step !== request.step || held.chunks !== chunk) {
        tf.dispose(grads);
        const have = held ? `${held.chunks} chunks of step ${held.step}` : 'none';
        throw errors.internal(`${this.#network}: chunk ${chunk} of step ${request.step} out of order (have ${have})`);
      }
      const previous = held.grads as tf.Tensor[];
      held.grads = tf.tidy(() => previous.map((g, i) => tf.add(g, grads[i]!)));
      held.chunks += 1;
      tf.dispose([...previous, ...grads]);
    }
    if (request.last === false) return { waited: 0 };
    const held = this.#held!;
    const own = held.grads as tf.Tensor[];
    if (!this.#reducer) return { gradSum: await gradientSum(own), waited: 0 };
    await writeFlat(own, this.#reducer.row);
    const reduced = await this.#reducer.reduce();
    // The summed gradients stay in the shared output row until `apply`: no replica
    // writes it again before every replica has passed the next step's first barrier.
    held.grads = splitFlat(reduced.sum, this.#shapes);
    tf.dispose(own);
    return { gradSum: reduced.total, waited: reduced.waitedMs };
  }

  /** TCP replicas: the rings of `epoch` listening (the last ones closed); where they listen. */
  async openRings(epoch: number, token: string): Promise<RingAddresses> {
    const [gradients, statistics] = await Promise.all([this.#reducer, this.#statistics?.reducer].map((m) => (m instanceof TcpMember ? m.open(epoch, token) : undefined)));
    return { ...(gradients ? { gradients } : {}), ...(statistics ? { statistics } : {}) };
  }

  /** TCP replicas: every ring connected to its peers. */
  async connectRings(peers: RingPeers): Promise<void> {
    const connect = (member: AllReduceMember | undefined, addresses: RingPeers['gradients']): Promise<void> | undefined => {
      if (!(member instanceof TcpMember)) return undefined;
      if (!addresses) throw errors.internal(`${this.#network}: a ring rendezvous without its peers' addresses`);
      return member.connect(addresses);
    };
    await Promise.all([connect(this.#reducer, peers.gradients), connect(this.#statistics?.reducer, peers.statistics)]);
  }

  /** Closes the collectives (the actor stops). */
  async close(): Promise<void> {
    await Promise.all([this.#reducer?.close(), this.#statistics?.reducer.close()]);
  }

  /** The gradients held for `step`, for `NetworkPart.apply` (they stay held until `drop`). */
  take(step: number): (tf.Tensor | Float32Array)[] {
    const held = this.#held;
    if (!held || held.step !== step) {
      throw errors.internal(`${this.#network}: apply for step ${step} without its gradients (have ${held?.step ?? 'none'})`);
    }
    return held.grads;
  }

  drop(): void {
    if (this.#held) tf.dispose(this.#held.grads.filter((g): g is tf.Tensor => g instanceof tf.Tensor));
    this.#held = undefined;
  }

  /**
   * Replicas: the moving statistics (`weights`, the network's non-trainable
   * ones) averaged over the replicas with weights rows / batch. The update is
   * linear in the batch statistics, so this is the update by the replicas'
   * weighted mean statistics: the global batch's mean exactly, and the mean
   * of the shards' variances (without the spread between shard means).
   */
  async averageStatistics(weights: readonly LayerVariable[]): Promise<void> {
    if (!this.#statistics) return;
    const { reducer, share } = this.#statistics;
    const row = reducer.row;
    let offset = 0;
    for (const w of weights) {
      const values = (await w.read().data()) as Float32Array;
      for (let i = 0; i < values.length; i++) row[offset + i] = values[i]! * share;
      offset += values.length;
    }
    const { sum } = await reducer.reduce();
    offset = 0;
    tf.tidy(() => {
      for (const w of weights) {
        const size = sizeOf(w.shape as number[]);
        w.write(tf.tensor(sum.subarray(offset, offset + size), w.shape as number[]));
        offset += size;
      }
    });
  }
}

/** The sum of every gradient, as `LocalEngine` checks it: finite iff all of them are. */
async function gradientSum(grads: readonly tf.Tensor[]): Promise<number> {
  // Added pairwise, not with addN: webgpu's AddN binds every input at once, and more than
  // the device's maxStorageBuffersPerShaderStage (8 by default) makes an invalid pipeline.
  const sum = tf.tidy(() => grads.map((g) => tf.sum(g)).reduce((a, b) => tf.add(a, b)));
  try {
    return (await sum.data())[0]!;
  } finally {
    sum.dispose();
  }
}

function sizeOf(shape: readonly (number | null)[]): number {
  return shape.reduce<number>((a, b) => a * (b ?? 1), 1);
}

/** The gradients one after another in `out` (the all-reduce's layout). */
async function writeFlat(grads: readonly tf.Tensor[], out: Float32Array): Promise<void> {
  // Every read asked for at once: on a GPU each is a round trip.
  const values = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
  let offset = 0;
  for (const v of values) {
    out.set(v, offset);
    offset += v.length;
  }
  if (offset !== out.length) throw errors.internal(`gradients of ${offset} floats for an all-reduce row of ${out.length}`);
}

/** Views of `flat` cut as `shapes` (no copy). */
function splitFlat(flat: Float32Array, shapes: readonly (readonly number[])[]): Float32Array[] {
  let offset = 0;
  return shapes.map((shape) => {
    const view = flat.subarray(offset, offset + sizeOf(shape));
    offset += view.length;
    return view;
  });
}
