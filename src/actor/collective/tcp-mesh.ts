/**
 * A rank's tensor endpoint: it listens only where it is told, dials the ranks
 * above it and accepts the ranks below it, so each pair shares one
 * connection. A connection must present the run's token and epoch in its
 * first frame, or it is refused, closed and logged.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { errors } from '../../errors.js';
import { encodeFrame, FrameError, FrameKind, FrameReader, HEADER_BYTES, type Frame } from './tcp-frames.js';
import { TcpLink } from './tcp-link.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface TcpMeshOptions {
  readonly rank: number;
  readonly size: number;
  /** The run's fencing number: frames of any other epoch are rejected. */
  readonly epoch: number;
  /** The run's secret (see `newRunToken`); a connection that does not present it is closed. */
  readonly token: string;
  /** Where to listen; port 0 lets the kernel choose (read `address` after). */
  readonly listen: HostPort;
  /** Where refusals and protocol errors are reported (default: stderr). */
  readonly log?: (line: string) => void;
  /** How long a connection may take to present its hello, ms (default 5000). */
  readonly handshakeTimeoutMs?: number;
  /** The largest frame accepted from an authenticated peer, bytes (default 64 MiB). */
  readonly maxFrameBytes?: number;
}

/** A random run token: 32 bytes, hex. */
export function newRunToken(): string {
  return randomBytes(32).toString('hex');
}

/** `host:port` → HostPort; IPv6 hosts in brackets (`[::1]:7000`). */
export function parseHostPort(text: string, field: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw errors.invalidValue(field, 'HOST:PORT (a port 0-65535)', text);
  return { host: match[1] ?? match[2]!, port };
}

export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** `promise`, or `error()` once `ms` have passed without it settling (the timer is then cleared). */
export function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Frames before the handshake are tiny: an unauthenticated peer cannot make us buffer much. */
const HELLO_MAX_BODY = 1024;

interface Deferred {
  readonly promise: Promise<TcpLink>;
  resolve(link: TcpLink): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: (link: TcpLink) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<TcpLink>((res, rej) => ((resolve = res), (reject = rej)));
  // A link nobody asked for yet must not become an unhandled rejection when the mesh closes.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function socketWhy(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === 'ETIMEDOUT') return 'connection timed out';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'EADDRNOTAVAIL') return 'address not on this host';
  if (code === 'EADDRINUSE') return 'address already in use';
  if (code === 'EACCES') return 'permission denied';
  return 'connection failed';
}

export class TcpMesh {
  readonly rank: number;
  readonly size: number;
  readonly epoch: number;
  readonly #token: Buffer;
  readonly #server: Server;
  readonly #log: (line: string) => void;
  readonly #handshakeMs: number;
  readonly #maxBody: number;
  readonly #links = new Map<number, Deferred>();
  readonly #sockets = new Set<Socket>();
  /** Ranks whose hello was accepted: a second connection claiming one is refused. */
  readonly #accepted = new Set<number>();
  #peers: readonly HostPort[] | undefined;
  #closed = false;

  private constructor(options: TcpMeshOptions, server: Server) {
    this.rank = options.rank;
    this.size = options.size;
    this.epoch = options.epoch;
    this.#token = Buffer.from(options.token, 'utf8');
    this.#server = server;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#handshakeMs = options.handshakeTimeoutMs ?? 5000;
    this.#maxBody = (options.maxFrameBytes ?? 64 * 1024 * 1024) + HEADER_BYTES;
    server.on('connection', (socket) => this.#accept(socket));
  }

  static open(options: TcpMeshOptions): Promise<TcpMesh> {
    const { rank, size } = options;
    if (!Number.isInteger(size) || size < 1) throw errors.invalidValue('size', 'a positive integer', size);
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw errors.invalidValue('rank', `an integer in [0, ${size})`, rank);
    if (!Number.isInteger(options.epoch) || options.epoch < 0 || options.epoch > 0xffffffff) {
      throw errors.invalidValue('epoch', 'an integer in [0, 2^32)', options.epoch);
    }
    if (options.token.length < 16) throw errors.invalidValue('token', 'at least 16 characters', `${options.token.length} characters`);
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', (error) =>
        reject(errors.invalidValue('listen', `an address this host can listen on (${socketWhy(error)})`, formatHostPort(options.listen))),
      );
      server.listen(options.listen.port, options.listen.host, () => resolve(new TcpMesh(options, server)));
    });
  }

  /** Where this rank listens (the bound port when 0 was asked for). */
  get address(): HostPort {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw errors.internal('tensor listener has no TCP address');
    return { host: address.address, port: address.port };
  }

  /** Where every rank listens, by rank (this rank's own entry is ignored). */
  setPeers(peers: readonly HostPort[]): void {
    if (peers.length !== this.size) throw errors.invalidValue('peers', `${this.size} addresses, one per rank`, peers.length);
    this.#peers = peers;
  }

  /** The link to `peer`: dialled when it ranks above this one, else awaited from it. */
  link(peer: number): Promise<TcpLink> {
    if (!Number.isInteger(peer) || peer < 0 || peer >= this.size || peer === this.rank) {
      throw errors.invalidValue('peer', `a rank in [0, ${this.size}) other than ${this.rank}`, peer);
    }
    const existing = this.#links.get(peer);
    if (existing) return existing.promise;
    const pending = deferred();
    this.#links.set(peer, pending);
    if (this.#closed) pending.reject(errors.peerLost(peer, 'closed here'));
    else if (peer > this.rank) this.#dial(peer, pending);
    return pending.promise;
  }

  /**
   * Point to point: sends `data` to `peer` on `tag` (any u32 but the ring's); copied, so `data` may be
   * reused at once. Rejects if the link is not up within `timeoutMs` (a lower rank that never dials).
   */
  async send(peer: number, tag: number, data: Float32Array, timeoutMs = 30_000): Promise<void> {
    (await withTimeout(this.link(peer), timeoutMs, () => errors.collectiveTimeout(`send of tag ${tag}`, timeoutMs, peer))).send(tag, data);
  }

  /** Point to point: the next Float32Array `peer` sent on `tag`; rejects on peer loss or after `timeoutMs`. */
  recv(peer: number, tag: number, timeoutMs: number): Promise<Float32Array> {
    return withTimeout(
      this.link(peer).then((link) => link.recv(tag)),
      timeoutMs,
      () => errors.collectiveTimeout(`receive of tag ${tag}`, timeoutMs, peer),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [peer, pending] of this.#links) {
      pending.reject(errors.peerLost(peer, 'closed here'));
      void pending.promise.then((link) => link.close(), () => undefined);
    }
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.setNoDelay(true);
  }

  #dial(peer: number, pending: Deferred): void {
    const address = this.#peers?.[peer];
    if (address === undefined) {
      pending.reject(errors.internal(`rank ${this.rank} has no address for rank ${peer}: call setPeers first`));
      return;
    }
    const where = formatHostPort(address);
    const socket = createConnection({ host: address.host, port: address.port });
    this.#track(socket);
    const reader = new FrameReader(HELLO_MAX_BODY);
    const fail = (why: string): void => {
      clearTimeout(timer);
      socket.destroy();
      pending.reject(errors.linkRefused(peer, where, why));
    };
    const timer = setTimeout(() => fail(`no answer to the handshake within ${this.#handshakeMs} ms`), this.#handshakeMs);
    socket.once('connect', () => {
      const hello = Buffer.alloc(4 + this.#token.byteLength);
      hello.writeUInt32LE(this.rank, 0);
      this.#token.copy(hello, 4);
      socket.write(encodeFrame(FrameKind.hello, this.epoch, 0, 0, hello));
    });
    socket.on('error', (error) => fail(socketWhy(error)));
    socket.on('close', () => fail('closed during the handshake'));
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        fail(error instanceof FrameError ? error.message : 'unreadable answer');
        return;
      }
      const [first, ...rest] = frames;
      if (first === undefined) return;
      if (first.kind === FrameKind.refuse) return fail(first.payload.toString('utf8'));
      if (first.kind !== FrameKind.welcome || first.payload.byteLength < 4 || first.payload.readUInt32LE(0) !== peer) {
        return fail('answered with something other than its welcome');
      }
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      reader.maxBody = this.#maxBody;
      pending.resolve(new TcpLink(peer, this.epoch, socket, reader, rest, this.#log));
    });
  }

  #accept(socket: Socket): void {
    this.#track(socket);
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const reader = new FrameReader(HELLO_MAX_BODY);
    const refuse = (why: string, tell = true): void => {
      clearTimeout(timer);
      this.#log(`tensor connection from ${from} refused: ${why}`);
      if (tell && !socket.destroyed) socket.end(encodeFrame(FrameKind.refuse, this.epoch, 0, 0, Buffer.from(why, 'utf8')));
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const timer = setTimeout(() => refuse(`no hello within ${this.#handshakeMs} ms`), this.#handshakeMs);
    socket.on('error', () => clearTimeout(timer));
    socket.on('close', () => clearTimeout(timer));
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        refuse(error instanceof FrameError ? error.message : 'unreadable hello', false);
        socket.destroy();
        return;
      }
      const [hello, ...rest] = frames;
      if (hello === undefined) return;
      socket.removeAllListeners('data');
      const problem = this.#checkHello(hello);
      if (typeof problem === 'string') return refuse(problem);
      const peer = problem.peer;
      clearTimeout(timer);
      let pending = this.#links.get(peer);
      if (pending === undefined) {
        pending = deferred();
        this.#links.set(peer, pending);
      }
      const welcome = Buffer.alloc(4);
      welcome.writeUInt32LE(this.rank, 0);
      socket.write(encodeFrame(FrameKind.welcome, this.epoch, 0, 0, welcome));
      reader.maxBody = this.#maxBody;
      pending.resolve(new TcpLink(peer, this.epoch, socket, reader, rest, this.#log));
    });
  }

  /** The peer's rank, or why its hello is refused. */
  #checkHello(frame: Frame): { peer: number } | string {
    if (frame.kind !== FrameKind.hello || frame.payload.byteLength < 4) return 'the first frame was not a hello';
    const token = frame.payload.subarray(4);
    if (token.byteLength !== this.#token.byteLength || !timingSafeEqual(token, this.#token)) return 'wrong token';
    if (frame.epoch !== this.epoch) return `stale epoch ${frame.epoch} (the run is at epoch ${this.epoch})`;
    const peer = frame.payload.readUInt32LE(0);
    if (peer >= this.rank || this.#closed) return `rank ${peer} may not dial rank ${this.rank}`;
    if (this.#accepted.has(peer)) return `rank ${peer} is already connected`;
    this.#accepted.add(peer);
    return { peer };
  }
}
