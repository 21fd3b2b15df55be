/**
 * A member of a TCP ring all-reduce that outlives its rings: data-parallel
 * replicas in process hosts or on other machines join through it, and every
 * restart of the run opens a new ring at a new epoch (a fencing number that
 * every frame carries) without rebuilding the actor.
 *
 * Rendezvous is two calls, made by the coordinator on every member at once:
 * `open(epoch, token)` closes the last ring, listens at a fresh port and says
 * where; `connect(peers)` hands over every member's address and waits until
 * the ring's links are up. Where a member listens comes from its host's
 * environment (a `paragen worker` sets it for the processes it forks):
 * `PARAGEN_TENSOR_LISTEN` to bind, `PARAGEN_TENSOR_ADVERTISE` to tell the
 * others; both default to 127.0.0.1.
 */
import { errors } from '../../errors.js';
import { openTcpRing } from './tcp-ring.js';
import { TcpMesh, type HostPort } from './tcp-mesh.js';
import { ReduceAborted, type AllReduceMember, type Reduced } from './types.js';

/** A TCP member as it travels in an actor's init: its place in the group, and the row it reduces. */
export interface TcpEndpoint {
  readonly via: 'tcp';
  readonly rank: number;
  readonly size: number;
  /** Floats in one contribution. */
  readonly length: number;
  /** The longest one reduce() may take, ms (default 30000): the backstop against a stuck peer. */
  readonly timeoutMs?: number;
}

export const TENSOR_LISTEN_ENV = 'PARAGEN_TENSOR_LISTEN';
export const TENSOR_ADVERTISE_ENV = 'PARAGEN_TENSOR_ADVERTISE';

/**
 * A mesh for rank `rank` of `size` at `epoch`, listening where this host's
 * environment says, on a port the kernel picks; and where others reach it.
 */
export async function listenHere(rank: number, size: number, epoch: number, token: string): Promise<{ mesh: TcpMesh; advertised: HostPort }> {
  const listen = process.env[TENSOR_LISTEN_ENV] || '127.0.0.1';
  const advertise = process.env[TENSOR_ADVERTISE_ENV] || listen;
  const mesh = await TcpMesh.open({ rank, size, epoch, token, listen: { host: listen, port: 0 } });
  return { mesh, advertised: { host: advertise, port: mesh.address.port } };
}

export class TcpMember implements AllReduceMember {
  readonly rank: number;
  readonly size: number;
  readonly length: number;
  readonly #timeoutMs: number | undefined;
  /** Written before the first ring exists (never reduced: reduce() refuses without a ring). */
  readonly #idle: Float32Array;
  #mesh: TcpMesh | undefined;
  #ring: AllReduceMember | undefined;
  #epoch = -1;

  constructor(endpoint: TcpEndpoint) {
    const { rank, size, length } = endpoint;
    if (!Number.isInteger(size) || size < 1) throw errors.invalidValue('size', 'a positive integer', size);
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw errors.invalidValue('rank', `an integer in [0, ${size})`, rank);
    if (!Number.isInteger(length) || length < 1) throw errors.invalidValue('length', 'a positive integer', length);
    this.rank = rank;
    this.size = size;
    this.length = length;
    this.#timeoutMs = endpoint.timeoutMs;
    this.#idle = new Float32Array(length);
  }

  get row(): Float32Array {
    return this.#ring?.row ?? this.#idle;
  }

  /** The epoch of the ring in use (−1 before the first rendezvous). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Closes the last ring and listens for the ring of `epoch`; returns where the others reach this member. */
  async open(epoch: number, token: string): Promise<HostPort> {
    await this.#closeRing();
    const { mesh, advertised } = await listenHere(this.rank, this.size, epoch, token);
    this.#mesh = mesh;
    this.#epoch = epoch;
    return advertised;
  }

  /** Every member's address by rank (from their `open`); resolves once this member's ring links are up. */
  async connect(peers: readonly HostPort[]): Promise<void> {
    const mesh = this.#mesh;
    if (!mesh) throw errors.internal(`all-reduce member ${this.rank}: connect before open`);
    mesh.setPeers(peers);
    this.#ring = await openTcpRing(mesh, { length: this.length, ...(this.#timeoutMs === undefined ? {} : { timeoutMs: this.#timeoutMs }) });
  }

  async reduce(): Promise<Reduced> {
    const ring = this.#ring;
    if (!ring) throw new ReduceAborted(`all-reduce member ${this.rank} has no ring at epoch ${this.#epoch} (no rendezvous since the last restart)`);
    // A failed ring stays broken: the run restarts at a new epoch.
    return ring.reduce();
  }

  close(): Promise<void> {
    return this.#closeRing();
  }

  async #closeRing(): Promise<void> {
    const ring = this.#ring;
    const mesh = this.#mesh;
    this.#ring = undefined;
    this.#mesh = undefined;
    // The ring owns its mesh; a mesh without a ring yet is closed here.
    if (ring) await ring.close();
    else if (mesh) await mesh.close();
  }
}
