/**
 * PROTOTYPE of the remote host kind: a process host whose channel runs over
 * the network. On the worker machine, `serveRemoteHosts` accepts a caller
 * that presents the run token, forks a real process host there
 * (`process-entry.js`, the same child a local process host runs) and relays
 * its IPC messages over the socket; on the coordinator, `RemoteSlot` is a
 * `WorkerSlot` whose hosts speak the process-host protocol (`IpcMux`) over
 * that socket. A lost socket is the host's death, like a process exit.
 *
 * Not yet: the death note of the remote child (only its exit code and signal
 * travel), placement through NATS, epochs on this channel, reconnects.
 */
import { fork } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createConnection, type Server, type Socket } from 'node:net';
import { workerEntry } from '../actor/entry.js';
import { type ActorLink, type Death, type Host, type WorkerSlot } from '../actor/host.js';
import { IpcMux, type IpcChannel, type IpcMessage } from '../actor/ipc.js';
import { MuxActors } from '../actor/mux-actors.js';
import type { SpawnRequest } from '../actor/protocol.js';
import { formatHostPort, type HostPort } from '../actor/collective/tcp-mesh.js';
import { SocketChannel } from './socket-channel.js';

/** What crosses a remote host's socket: the caller's hello, the relayed IPC, and the child's exit. */
export type RemoteMessage =
  | { readonly k: 'hello'; readonly token: string }
  | { readonly k: 'ipc'; readonly m: IpcMessage }
  | { readonly k: 'exit'; readonly code: number | null; readonly signal: string | null }
  | { readonly k: 'refused'; readonly why: string };

export interface ServeOptions {
  /** The token a caller must present (the run's). */
  readonly token: () => string | undefined;
  readonly log?: (line: string) => void;
}

/** Worker side: serves process hosts to authenticated callers on `server`. Returns a function that stops serving. */
export function serveRemoteHosts(server: Server, options: ServeOptions): () => void {
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const entry = workerEntry(import.meta.url, '../actor/process-entry.js');
  const onConnection = (socket: Socket): void => {
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const channel = new SocketChannel<RemoteMessage>(socket);
    const first = (message: RemoteMessage): void => {
      channel.off('message', first);
      const token = options.token();
      const ok =
        message.k === 'hello' &&
        token !== undefined &&
        message.token.length === token.length &&
        timingSafeEqual(Buffer.from(message.token), Buffer.from(token));
      if (!ok) {
        const why = token === undefined ? 'no run is placed on this worker' : 'wrong token';
        log(`host connection from ${from} refused: ${why}`);
        channel.send({ k: 'refused', why });
        channel.close();
        return;
      }
      const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (m: IpcMessage) => channel.send({ k: 'ipc', m }));
      channel.on('message', (relayed: RemoteMessage) => {
        if (relayed.k === 'ipc' && child.connected) child.send(relayed.m);
      });
      child.once('exit', (code, signal) => {
        channel.send({ k: 'exit', code, signal });
        channel.close();
      });
      // The caller went away: nothing is left to serve.
      channel.on('close', () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
    };
    channel.on('message', first);
  };
  server.on('connection', onConnection);
  return () => server.off('connection', onConnection);
}

/** The caller's end of one remote host: an `IpcChannel` that unwraps the relayed messages. */
class RelayChannel implements IpcChannel {
  readonly #channel: SocketChannel<RemoteMessage>;
  readonly #listeners = new Map<(message: IpcMessage) => void, (message: RemoteMessage) => void>();

  constructor(channel: SocketChannel<RemoteMessage>) {
    this.#channel = channel;
  }

  get connected(): boolean {
    return this.#channel.connected;
  }

  send(message: IpcMessage): boolean {
    return this.#channel.send({ k: 'ipc', m: message });
  }

  on(_event: 'message', listener: (message: IpcMessage) => void): this {
    const unwrap = (message: RemoteMessage): void => {
      if (message.k === 'ipc') listener(message.m);
    };
    this.#listeners.set(listener, unwrap);
    this.#channel.on('message', unwrap);
    return this;
  }

  off(_event: 'message', listener: (message: IpcMessage) => void): this {
    const unwrap = this.#listeners.get(listener);
    if (unwrap) this.#channel.off('message', unwrap);
    this.#listeners.delete(listener);
    return this;
  }
}

class RemoteHost implements Host {
  // The same protocol as a process host, so to the system it is one.
  readonly kind = 'process' as const;
  readonly worker: number;
  readonly died: Promise<Death>;
  readonly #channel: SocketChannel<RemoteMessage>;
  readonly #mux: IpcMux;
  readonly #gone: Promise<void>;
  readonly #actors: MuxActors;
  #dead = false;
  #closing = false;

  constructor(worker: number, address: HostPort, token: string) {
    this.worker = worker;
    const where = formatHostPort(address);
    const socket = createConnection({ host: address.host, port: address.port });
    this.#channel = new SocketChannel<RemoteMessage>(socket);
    this.#mux = new IpcMux(new RelayChannel(this.#channel));
    let cause = `worker ${worker} (remote ${where}) lost: connection closed`;
    socket.once('connect', () => this.#channel.send({ k: 'hello', token }));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      cause = `worker ${worker} (remote ${where}) lost: ${error.code === 'ECONNREFUSED' ? 'connection refused' : 'connection failed'}`;
    });
    this.#channel.on('message', (message: RemoteMessage) => {
      if (message.k === 'exit') {
        cause = `worker ${worker} (remote ${where}) ${message.signal ? `was killed by ${message.signal}` : `exited with code ${message.code}`}`;
      } else if (message.k === 'refused') {
        cause = `worker ${worker} (remote ${where}) refused the connection: ${message.why}`;
      }
    });
    let resolveDeath!: (death: Death) => void;
    this.died = new Promise((resolve) => (resolveDeath = resolve));
    this.#gone = new Promise((resolve) =>
      this.#channel.on('close', () => {
        this.#mux.close();
        resolve();
        if (this.#closing) return;
        this.#dead = true;
        resolveDeath({ worker, cause });
      }),
    );
    this.#actors = new MuxActors(this.#mux, this.died);
  }

  get dead(): boolean {
    return this.#dead;
  }

  async spawn(request: SpawnRequest): Promise<ActorLink> {
    if (this.#dead || this.#closing) throw new Error(`worker ${this.worker} is ${this.#dead ? 'dead' : 'closing'}`);
    return this.#actors.spawn(request);
  }

  async close(): Promise<void> {
    if (this.#closing) return this.#gone;
    this.#closing = true;
    await this.#actors.stop(this.#dead);
    if (this.#channel.connected) {
      this.#mux.send({ c: 'exit' });
      // The worker closes the socket when its child has exited; past 5 s, drop it from here.
      const timer = setTimeout(() => this.#channel.close(), 5000);
      timer.unref();
      await this.#gone;
      clearTimeout(timer);
    }
  }
}

/** Coordinator side: worker `worker` of a system, hosted by the `paragen worker` at `address`. */
export class RemoteSlot implements WorkerSlot {
  readonly kind = 'process' as const;
  readonly worker: number;
  readonly #address: HostPort;
  readonly #token: string;
  #current: RemoteHost;

  constructor(worker: number, address: HostPort, token: string) {
    this.worker = worker;
    this.#address = address;
    this.#token = token;
    this.#current = new RemoteHost(worker, address, token);
  }

  get current(): Host {
    return this.#current;
  }

  revive(): Host {
    this.#current = new RemoteHost(this.worker, this.#address, this.#token);
    return this.#current;
  }

  close(): Promise<void> {
    return this.#current.close();
  }
}
