/**
 * One authenticated tensor connection between two ranks: frames in, frames
 * out, a mailbox per stream. A frame of another epoch closes the link (its
 * sender belongs to an earlier incarnation of the run); so does a malformed
 * stream. Every pending receive rejects the moment the socket closes, so no
 * one waits on a dead peer.
 */
import type { Socket } from 'node:net';
import { errors, type ParagenError } from '../../errors.js';
import { BufferPool, encodeFrame, encodeHeader, FrameError, FrameKind, FrameReader, payloadFloats, type Frame } from './tcp-frames.js';

interface Waiter {
  readonly resolve: (data: Float32Array) => void;
  readonly reject: (error: Error) => void;
}

interface Mailbox {
  readonly ready: Float32Array[];
  readonly waiters: Waiter[];
  /** The seq the next frame of this stream must carry. */
  nextSeq: number;
}

export class TcpLink {
  readonly peer: number;
  readonly epoch: number;
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #log: (line: string) => void;
  readonly #boxes = new Map<number, Mailbox>();
  readonly #sendSeq = new Map<number, number>();
  readonly #sendPool = new BufferPool();
  readonly #recvPool = new BufferPool();
  #unflushed = 0;
  readonly #flushWaiters: Array<() => void> = [];
  #failure: ParagenError | undefined;
  readonly closed: Promise<ParagenError>;
  #markClosed!: (error: ParagenError) => void;

  /** Takes over a socket whose handshake is done; `rest` is what the reader already holds. */
  constructor(peer: number, epoch: number, socket: Socket, reader: FrameReader, pending: readonly Frame[], log: (line: string) => void) {
    this.peer = peer;
    this.epoch = epoch;
    this.#socket = socket;
    this.#reader = reader;
    this.#log = log;
    this.closed = new Promise((resolve) => (this.#markClosed = resolve));
    reader.pool = this.#recvPool;
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.#fail('connection reset'));
    socket.on('close', () => this.#fail('connection closed'));
    for (const frame of pending) this.#onFrame(frame);
  }

  get failure(): ParagenError | undefined {
    return this.#failure;
  }

  /** Queues a frame of `data` on `stream`; the bytes are copied, so the caller may reuse `data` at once. */
  send(stream: number, data: Float32Array): void {
    if (this.#failure) throw this.#failure;
    const seq = this.#sendSeq.get(stream) ?? 0;
    this.#sendSeq.set(stream, seq + 1);
    const frame = encodeFrame(FrameKind.data, this.epoch, stream, seq, data, this.#sendPool);
    // Back to the pool once the kernel has the bytes.
    this.#socket.write(frame, () => this.#sendPool.give(frame));
  }

  /**
   * Queues a frame of `data` on `stream` WITHOUT copying it: the caller must not change `data`
   * until `flushed()` resolves (or `written` is called). For the ring's large pieces, where a copy
   * per frame is a measurable share of the CPU time.
   */
  sendView(stream: number, data: Float32Array, written?: () => void): void {
    if (this.#failure) throw this.#failure;
    const seq = this.#sendSeq.get(stream) ?? 0;
    this.#sendSeq.set(stream, seq + 1);
    this.#unflushed++;
    this.#socket.cork();
    this.#socket.write(encodeHeader(FrameKind.data, this.epoch, stream, seq, data.byteLength));
    // Called on success and on failure alike (a destroyed socket calls back with an error).
    this.#socket.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), () => {
      written?.();
      if (--this.#unflushed === 0) for (const resolve of this.#flushWaiters.splice(0)) resolve();
    });
    this.#socket.uncork();
  }

  /** Resolves once every `sendView` so far has been handed to the kernel (or the link failed). */
  flushed(): Promise<void> {
    if (this.#unflushed === 0 || this.#failure) return Promise.resolve();
    return new Promise((resolve) => this.#flushWaiters.push(resolve));
  }

  /** Hands a received array back once its elements have been used (it will be overwritten). */
  recycle(data: Float32Array): void {
    this.#recvPool.give(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  /** The next frame's elements on `stream`; rejects when the link fails. */
  recv(stream: number): Promise<Float32Array> {
    const box = this.#box(stream);
    const ready = box.ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => box.waiters.push({ resolve, reject }));
  }

  /** Ends the connection from this side. */
  close(): void {
    this.#fail('closed here');
    this.#socket.destroy();
  }

  #box(stream: number): Mailbox {
    let box = this.#boxes.get(stream);
    if (box === undefined) {
      box = { ready: [], waiters: [], nextSeq: 0 };
      this.#boxes.set(stream, box);
    }
    return box;
  }

  #onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#reader.push(chunk);
    } catch (error) {
      const why = error instanceof FrameError ? error.message : 'unreadable frame';
      this.#protocolError(why);
      return;
    }
    for (const frame of frames) {
      if (this.#failure) return;
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Frame): void {
    if (frame.epoch !== this.epoch) {
      this.#protocolError(`frame of epoch ${frame.epoch} rejected (the run is at epoch ${this.epoch})`);
      return;
    }
    if (frame.kind !== FrameKind.data) {
      this.#protocolError(`unexpected frame kind ${frame.kind} after the handshake`);
      return;
    }
    const box = this.#box(frame.stream);
    if (frame.seq !== box.nextSeq) {
      this.#protocolError(`stream ${frame.stream} frame ${frame.seq} arrived where ${box.nextSeq} was due`);
      return;
    }
    box.nextSeq++;
    let data: Float32Array;
    try {
      data = payloadFloats(frame.payload);
    } catch (error) {
      this.#protocolError(error instanceof Error ? error.message : 'bad payload');
      return;
    }
    const waiter = box.waiters.shift();
    if (waiter) waiter.resolve(data);
    else box.ready.push(data);
  }

  #protocolError(why: string): void {
    this.#log(`tensor link to rank ${this.peer} closed: ${why}`);
    this.#fail(why);
    this.#socket.destroy();
  }

  #fail(why: string): void {
    if (this.#failure) return;
    this.#failure = errors.peerLost(this.peer, why);
    for (const box of this.#boxes.values()) {
      for (const waiter of box.waiters.splice(0)) waiter.reject(this.#failure);
    }
    for (const resolve of this.#flushWaiters.splice(0)) resolve();
    this.#markClosed(this.#failure);
  }
}
