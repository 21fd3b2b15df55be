/**
 * An actor-host channel over a TCP socket: the same messages a process host
 * sends over its IPC channel, as length-prefixed frames of Node's structured
 * serialisation (`v8.serialize`, what `serialization: 'advanced'` IPC uses),
 * so typed arrays arrive as typed arrays.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';

/** The largest message accepted, bytes: a tensor of 256 MiB, with room. */
const MAX_MESSAGE = 256 * 1024 * 1024 + 4096;

export class SocketChannel<M> {
  readonly #socket: Socket;
  readonly #events = new EventEmitter();
  #chunks: Buffer[] = [];
  #buffered = 0;
  #connected = true;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.#end());
    socket.on('close', () => this.#end());
  }

  get connected(): boolean {
    return this.#connected;
  }

  send(message: M): boolean {
    if (!this.#connected) return false;
    const body = serialize(message);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(body.byteLength, 0);
    this.#socket.write(head);
    return this.#socket.write(body);
  }

  on(event: 'message', listener: (message: M) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'message' | 'close', listener: (message: M) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off(event: 'message' | 'close', listener: (message: M) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  close(): void {
    this.#socket.end();
    this.#end();
  }

  #end(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#socket.destroy();
    this.#events.emit('close');
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    while (this.#buffered >= 4) {
      if (this.#chunks[0]!.byteLength < 4) this.#chunks = [Buffer.concat(this.#chunks)];
      const length = this.#chunks[0]!.readUInt32LE(0);
      if (length > MAX_MESSAGE) return this.#end();
      // Join the chunks only once the whole message is here (not on every chunk of a large one).
      if (this.#buffered < 4 + length) return;
      const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      const message = deserialize(all.subarray(4, 4 + length)) as M;
      const rest = all.subarray(4 + length);
      this.#chunks = rest.byteLength ? [rest] : [];
      this.#buffered = rest.byteLength;
      this.#events.emit('message', message);
      if (!this.#connected) return;
    }
  }
}
