/**
 * PROTOTYPE of the remote host kind: a process host whose channel runs over
 * the network. On the worker machine, `serveRemoteHosts` accepts a caller
 * that presents the run token, forks a real process host there
 * (`process-entry.js`, the same child a local process host runs) and relays
 * its IPC messages over the socket; on the coordinator, `RemoteSlot` is a
 * `WorkerSlot` whose hosts speak the process-host protocol (`IpcMux`) over
 * that socket. A lost socket is the host's death, like a process exit.
 *
 * The coordinator learns where to connect asynchronously (placement through
 * NATS, cluster.ts), so a host is built at once and connects when its target
 * is known; a target that cannot be found is the host's death.
 *
 * A child that stays stopped (SIGSTOP, a freeze) is killed by the serving
 * side after STOPPED_MS, and the caller told so (stop-watch.ts).
 *
 * The remote child's death note (the actor working, an uncaught error)
 * travels with its exit, so a remote death reads as a local one.
 *
 * Not yet: reconnects after a network blip (a lost socket is a restart).
 */
import { fork } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { Socket, type Server } from 'node:net';
import type { Readable } from 'node:stream';
import { workerEntry } from '../actor/entry.js';
import { type ActorLink, type Death, type Host, type WorkerSlot } from '../actor/host.js';
import { IpcMux, type IpcChannel, type IpcMessage } from '../actor/ipc.js';
import { NOTE_FD, parseNote } from '../actor/process-host.js';
import { MuxActors } from '../actor/mux-actors.js';
import { STOPPED_MS, watchStopped } from '../actor/stop-watch.js';
import type { SpawnRequest } from '../actor/protocol.js';
import { formatHostPort, type HostPort } from '../actor/collective/tcp-mesh.js';
import { SocketChannel } from './socket-channel.js';

/** What crosses a remote host's socket: the caller's hello, the relayed IPC, and the child's exit. */
export type RemoteMessage =
  | { readonly k: 'hello'; readonly token: string }
  | { readonly k: 'ipc'; readonly m: IpcMessage }
  | { readonly k: 'exit'; readonly code: number | null; readonly signal: string | null; readonly note?: string }
  | { readonly k: 'stopped'; readonly ms: number }
  | { readonly k: 'refused'; readonly why: string };

export interface ServeOptions {
  /** The token a caller must present (the run's). */
  readonly token: () => string | undefined;
  readonly log?: (line: string) => void;
  /** Added to each forked host's environment (where its tensor rings listen: tcp-member.ts). */
  readonly env?: Readonly<Record<string, string>>;
  /** Told the number of callers served whenever it changes. */
  readonly onActive?: (open: number) => void;
}

/** Worker side: serves process hosts to authenticated callers on `server`. Returns a function that stops serving. */
export function serveRemoteHosts(server: Server, options: ServeOptions): () => void {
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const entry = workerEntry(import.meta.url, '../actor/process-entry.js');
  let open = 0;
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
      // As a local process host: the child writes its death note (which actor, what error) on NOTE_FD.
      const child = fork(entry, [], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
        env: { ...process.env, ...options.env, PARAGEN_NOTE_FD: String(NOTE_FD) },
      });
      let note = '';
      const notes = child.stdio[NOTE_FD] as Readable;
      notes.setEncoding('utf8');
      notes.on('data', (chunk: string) => (note += chunk));
      options.onActive?.(++open);
      child.on('message', (m: IpcMessage) => channel.send({ k: 'ipc', m }));
      channel.on('message', (relayed: RemoteMessage) => {
        if (relayed.k === 'ipc' && child.connected) child.send(relayed.m);
      });
      // A stopped child would never answer its caller: past STOPPED_MS it is killed, and the caller told why.
      const unwatch = watchStopped(child.pid, () => {
        log(`host process ${child.pid ?? '?'} for ${from} was stopped for ${STOPPED_MS} ms: killed`);
        channel.send({ k: 'stopped', ms: STOPPED_MS });
        child.kill('SIGKILL');
      });
      // 'close' comes after 'exit' and after the note pipe is drained.
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        unwatch();
        channel.send({ k: 'exit', code, signal, ...(note ? { note } : {}) });
        channel.close();
      });
      // The caller went away: nothing is left to serve.
      channel.on('close', () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        options.onActive?.(--open);
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

/** Where a remote host is: the worker's tensor port, and how deaths name it (`w1 (10.0.0.5:7000)`). */
export interface RemoteTarget {
  readonly address: HostPort;
  readonly label: string;
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
  #cause: string;
  /** The actor that was working when the remote child died (its death note). */
  #actor: string | undefined;
  #dead = false;
  #closing = false;

  constructor(worker: number, target: Promise<RemoteTarget>, token: string) {
    this.worker = worker;
    const socket = new Socket();
    this.#channel = new SocketChannel<RemoteMessage>(socket);
    this.#mux = new IpcMux(new RelayChannel(this.#channel));
    let where = 'remote, not yet placed';
    this.#cause = `worker ${worker} (${where}) lost: connection closed`;
    const say = (what: string): void => void (this.#cause = `worker ${worker} (${where}) ${what}`);
    socket.once('connect', () => this.#channel.send({ k: 'hello', token }));
    socket.once('error', (error: NodeJS.ErrnoException) => say(`lost: ${error.code === 'ECONNREFUSED' ? 'connection refused' : 'connection failed'}`));
    target.then(
      ({ address, label }) => {
        where = `remote ${label}`;
        say('lost: connection closed');
        // Lost (a missed heartbeat) or closed while its target was being found: a destroyed socket
        // would connect again if asked, and that stray connection would keep this process alive.
        if (this.#closing || this.#dead) socket.destroy();
        else socket.connect({ host: address.host, port: address.port });
      },
      (error: unknown) => {
        this.#cause = `worker ${worker}: ${error instanceof Error ? error.message : String(error)}`;
        socket.destroy();
      },
    );
    let stopped = false;
    this.#channel.on('message', (message: RemoteMessage) => {
      if (message.k === 'stopped') {
        stopped = true;
        say(`lost: its host process was stopped (SIGSTOP or a freeze) for ${message.ms} ms, and killed`);
      } else if (message.k === 'exit' && !stopped) {
        const { actor, error } = parseNote(message.note ?? '');
        this.#actor = actor;
        say(`${message.signal ? `was killed by ${message.signal}` : `exited with code ${message.code}`}${error ? ` after an uncaught ${error}` : ''}`);
      }
      else if (message.k === 'refused') say(`refused the connection: ${message.why}`);
    });
    let resolveDeath!: (death: Death) => void;
    this.died = new Promise((resolve) => (resolveDeath = resolve));
    this.#gone = new Promise((resolve) =>
      this.#channel.on('close', () => {
        this.#mux.close();
        resolve();
        if (this.#closing) return;
        this.#dead = true;
        resolveDeath({ worker, ...(this.#actor ? { actor: this.#actor } : {}), cause: this.#cause });
      }),
    );
    this.#actors = new MuxActors(this.#mux, this.died);
  }

  /** The coordinator learnt that the worker is gone (a missed heartbeat): its death, with that cause. */
  lose(cause: string): void {
    if (this.#dead || this.#closing) return;
    this.#cause = `worker ${this.worker} ${cause}`;
    this.#channel.close();
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

/**
 * Coordinator side: worker `worker` of a system, hosted by a `paragen worker`:
 * the one at a fixed address, or the one `target()` finds (asked again at
 * every revival: a replacement when the last one is gone).
 */
export class RemoteSlot implements WorkerSlot {
  readonly kind = 'process' as const;
  readonly worker: number;
  readonly #target: () => Promise<RemoteTarget>;
  readonly #token: string;
  #current: RemoteHost;

  constructor(worker: number, target: HostPort | (() => Promise<RemoteTarget>), token: string) {
    this.worker = worker;
    this.#target = typeof target === 'function' ? target : () => Promise.resolve({ address: target, label: formatHostPort(target) });
    this.#token = token;
    this.#current = new RemoteHost(worker, this.#target(), token);
  }

  get current(): Host {
    return this.#current;
  }

  /** Ends the current host as lost, with `cause` (`w1 (…) lost: no heartbeat for 3000 ms`). */
  lose(cause: string): void {
    this.#current.lose(cause);
  }

  revive(): Host {
    this.#current = new RemoteHost(this.worker, this.#target(), this.#token);
    return this.#current;
  }

  close(): Promise<void> {
    return this.#current.close();
  }
}
