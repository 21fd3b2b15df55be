/**
 * The wire format of tensor links between hosts: length-prefixed frames, each
 * fenced by the run's epoch so that a frame from before a restart can never be
 * taken for one of the current run.
 *
 *   offset 0  u32  body length (bytes after this field)
 *          4  u8   kind
 *          5  3    zero padding (keeps the payload 4-byte aligned for Float32Array views)
 *          8  u32  epoch
 *         12  u32  stream (which conversation: the ring, or a point-to-point tag)
 *         16  u32  seq (order within the stream)
 *         20       payload
 *
 * Little-endian throughout (every platform Node ships on).
 */

export const FrameKind = {
  /** Dialer → acceptor, first frame: payload u32 rank, then the run token (utf8). */
  hello: 1,
  /** Acceptor → dialer: the hello was accepted; payload u32 rank of the acceptor. */
  welcome: 2,
  /** Acceptor → dialer before closing: payload the reason (utf8). */
  refuse: 3,
  /** Tensor data: payload float32 elements. */
  data: 4,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const HEADER_BYTES = 20;
/** Bytes of the header the length field counts. */
const COUNTED_HEADER = HEADER_BYTES - 4;

export interface Frame {
  readonly kind: FrameKind;
  readonly epoch: number;
  readonly stream: number;
  readonly seq: number;
  /** The payload; a view into a buffer the reader no longer touches. */
  readonly payload: Buffer;
}

/** A malformed byte stream: the connection cannot be trusted further. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/**
 * Large buffers kept for reuse, by size. A fresh buffer per frame made the
 * link several times slower than raw TCP (page faults and GC on every
 * megabyte, measured); a collective reuses the same few sizes every step.
 */
export class BufferPool {
  readonly #free = new Map<number, Buffer[]>();
  readonly #maxPerSize: number;

  constructor(maxPerSize = 64) {
    this.#maxPerSize = maxPerSize;
  }

  take(bytes: number): Buffer {
    return this.#free.get(bytes)?.pop() ?? Buffer.allocUnsafeSlow(bytes);
  }

  /** Returns a buffer for reuse; only whole buffers this pool could have made are kept. */
  give(buffer: Buffer): void {
    if (buffer.byteOffset !== 0 || buffer.buffer.byteLength !== buffer.byteLength || buffer.byteLength < 4096) return;
    let list = this.#free.get(buffer.byteLength);
    if (list === undefined) this.#free.set(buffer.byteLength, (list = []));
    if (list.length < this.#maxPerSize) list.push(buffer);
  }
}

/** A data frame's header alone, for a payload of `bytes` written after it from the caller's memory. */
export function encodeHeader(kind: FrameKind, epoch: number, stream: number, seq: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(out, kind, epoch, stream, seq, bytes);
  return out;
}

/** The header of a frame with a `bytes` payload, at the start of `out`. */
function writeHeader(out: Buffer, kind: FrameKind, epoch: number, stream: number, seq: number, bytes: number): void {
  out.writeUInt32LE(COUNTED_HEADER + bytes, 0);
  out.writeUInt8(kind, 4);
  out.fill(0, 5, 8);
  out.writeUInt32LE(epoch >>> 0, 8);
  out.writeUInt32LE(stream >>> 0, 12);
  out.writeUInt32LE(seq >>> 0, 16);
}

/** One frame, header and payload, in one buffer (one write, and a copy the caller may reuse at once). */
export function encodeFrame(kind: FrameKind, epoch: number, stream: number, seq: number, payload?: ArrayBufferView, pool?: BufferPool): Buffer {
  const bytes = payload?.byteLength ?? 0;
  const out = pool && bytes >= 4096 ? pool.take(HEADER_BYTES + bytes) : Buffer.allocUnsafe(HEADER_BYTES + bytes);
  writeHeader(out, kind, epoch, stream, seq, bytes);
  if (payload !== undefined && bytes > 0) {
    out.set(new Uint8Array(payload.buffer, payload.byteOffset, bytes), HEADER_BYTES);
  }
  return out;
}

/** The float32 elements of a data frame's payload, as a view when aligned, else a copy. */
export function payloadFloats(payload: Buffer): Float32Array {
  if (payload.byteLength % 4 !== 0) throw new FrameError(`data payload of ${payload.byteLength} bytes is not whole float32s`);
  if (payload.byteOffset % 4 === 0) return new Float32Array(payload.buffer, payload.byteOffset, payload.byteLength / 4);
  const copy = new Float32Array(payload.byteLength / 4);
  new Uint8Array(copy.buffer).set(payload);
  return copy;
}

const KINDS = new Set<number>(Object.values(FrameKind));

/**
 * Cuts a byte stream into frames. Chunks are kept as they arrive and joined
 * only where a frame spans them, so a large frame costs one copy, not one per
 * chunk.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The largest body accepted; small until the peer has shown the run token. */
  maxBody: number;
  /** Where payloads that span chunks are assembled (set once the peer is authenticated). */
  pool: BufferPool | undefined;

  constructor(maxBody: number) {
    this.maxBody = maxBody;
  }

  /** Adds bytes; returns the frames now complete, in order. Throws FrameError on a malformed stream. */
  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    const frames: Frame[] = [];
    for (;;) {
      if (this.#buffered < HEADER_BYTES) break;
      const header = this.#peek(HEADER_BYTES);
      const body = header.readUInt32LE(0);
      if (body < COUNTED_HEADER) throw new FrameError(`frame body of ${body} bytes is shorter than its header`);
      if (body > this.maxBody) throw new FrameError(`frame of ${body} bytes exceeds the limit of ${this.maxBody}`);
      const kind = header.readUInt8(4);
      if (!KINDS.has(kind)) throw new FrameError(`unknown frame kind ${kind}`);
      if (this.#buffered < 4 + body) break;
      const frameHeader = this.#take(HEADER_BYTES);
      const payload = this.#take(body - COUNTED_HEADER);
      frames.push({
        kind: kind as FrameKind,
        epoch: frameHeader.readUInt32LE(8),
        stream: frameHeader.readUInt32LE(12),
        seq: frameHeader.readUInt32LE(16),
        payload,
      });
    }
    return frames;
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.byteLength >= n) return first.subarray(0, n);
    // Walk only as many chunks as the header needs: a peer sending tiny chunks must not make this quadratic.
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    for (const chunk of this.#chunks) {
      at += chunk.copy(out, at, 0, Math.min(chunk.byteLength, n - at));
      if (at === n) break;
    }
    return out;
  }

  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.byteLength > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.byteLength === n) {
      this.#chunks.shift();
      return first;
    }
    // Spans chunks: one buffer of its own (an ArrayBuffer at offset 0, so float32-aligned).
    const out = this.pool && n >= 4096 ? this.pool.take(n) : Buffer.allocUnsafeSlow(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.byteLength, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
