/**
 * A point-to-point tensor channel between the two stages of a pipeline
 * replica (the generator and the discriminator, the encoder and the
 * decoder) on different hosts: stage 0 sends its activations straight to
 * the last stage, which sends their gradients straight back, so neither
 * passes through the coordinator. One authenticated TCP connection (a
 * two-rank `TcpMesh`: token and epoch checked, every frame fenced), a
 * stream per microbatch in each direction; frames on a stream arrive in the
 * order they were sent.
 *
 * Rendezvous as `TcpMember`'s, at every epoch: `open(epoch, token)` closes
 * the last connection and listens (where the host's environment says:
 * tcp-member.ts); `connect(peer)` waits until the connection is up.
 */
import { errors } from '../../errors.js';
import { listenHere } from './tcp-member.js';
import type { TcpLink } from './tcp-link.js';
import { withTimeout, type HostPort, type TcpMesh } from './tcp-mesh.js';

/** A stage's end of its pair, as it travels in an actor's init. */
export interface PairEndpoint {
  readonly via: 'tcp';
  /** 0: the first stage; 1: the last. */
  readonly side: 0 | 1;
  /** The longest a receive may wait, ms (default 30000): the backstop against a stuck peer. */
  readonly timeoutMs?: number;
}

export class TcpPair {
  readonly side: 0 | 1;
  readonly #timeoutMs: number;
  #mesh: TcpMesh | undefined;
  #link: TcpLink | undefined;
  #epoch = -1;

  constructor(endpoint: PairEndpoint) {
    if (endpoint.side !== 0 && endpoint.side !== 1) throw errors.invalidValue('side', '0 or 1', endpoint.side);
    const timeoutMs = endpoint.timeoutMs ?? 30_000;
    if (!(timeoutMs > 0)) throw errors.invalidValue('timeoutMs', 'a positive number', timeoutMs);
    this.side = endpoint.side;
    this.#timeoutMs = timeoutMs;
  }

  /** Closes the last connection and listens for the one of `epoch`; returns where the other stage reaches this one. */
  async open(epoch: number, token: string): Promise<HostPort> {
    await this.close();
    const { mesh, advertised } = await listenHere(this.side, 2, epoch, token);
    this.#mesh = mesh;
    this.#epoch = epoch;
    return advertised;
  }

  /** The other stage's address (from its `open`); resolves once the connection is up. */
  async connect(peer: HostPort): Promise<void> {
    const mesh = this.#mesh;
    if (!mesh) throw errors.internal(`stage ${this.side}: connect before open`);
    const other = 1 - this.side;
    mesh.setPeers(this.side === 0 ? [mesh.address, peer] : [peer, mesh.address]);
    this.#link = await withTimeout(mesh.link(other), this.#timeoutMs, () => errors.collectiveTimeout('stage connection', this.#timeoutMs, other));
  }

  /** Sends `data` (copied) on `stream`; throws when there is no connection at this epoch or it has failed. */
  send(stream: number, data: Float32Array): void {
    const link = this.#link;
    if (!link) throw this.#unconnected();
    link.send(stream, data);
  }

  /** The next array the other stage sent on `stream`; rejects on its loss or after the timeout. */
  recv(stream: number): Promise<Float32Array> {
    const mesh = this.#mesh;
    if (!mesh || !this.#link) return Promise.reject(this.#unconnected());
    return mesh.recv(1 - this.side, stream, this.#timeoutMs);
  }

  #unconnected(): Error {
    return errors.peerLost(1 - this.side, `no stage connection at epoch ${this.#epoch} (no rendezvous since the last restart)`);
  }

  async close(): Promise<void> {
    const mesh = this.#mesh;
    this.#mesh = undefined;
    this.#link = undefined;
    await mesh?.close();
  }
}
