import { describe, expect, it } from 'vitest';
import { BufferPool, encodeFrame, FrameKind, FrameReader, payloadFloats } from '../../../src/actor/collective/tcp-frames.js';
import { Rng } from '../../../src/rng.js';

describe('tensor frames', () => {
  it('decode the same however the byte stream is cut', () => {
    const big = new Float32Array(5000).map((_, i) => i * 0.5);
    const bytes = Buffer.concat([
      encodeFrame(FrameKind.data, 9, 1, 0, new Float32Array([1, 2, 3])),
      encodeFrame(FrameKind.data, 9, 2, 0, big, new BufferPool()),
      encodeFrame(FrameKind.data, 9, 1, 1),
    ]);
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const reader = new FrameReader(1 << 20);
      reader.pool = new BufferPool();
      const frames = [];
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + rng.int(trial < 10 ? 7 : 9000);
        frames.push(...reader.push(bytes.subarray(at, at + n)));
        at += n;
      }
      expect(frames.map((f) => [f.kind, f.epoch, f.stream, f.seq, f.payload.byteLength])).toEqual([
        [FrameKind.data, 9, 1, 0, 12],
        [FrameKind.data, 9, 2, 0, 20000],
        [FrameKind.data, 9, 1, 1, 0],
      ]);
      expect([...payloadFloats(frames[0]!.payload)]).toEqual([1, 2, 3]);
      expect(payloadFloats(frames[1]!.payload)).toEqual(big);
    }
  });

  it('refuse an oversized frame, an unknown kind and a ragged payload', () => {
    const reader = new FrameReader(100);
    expect(() => reader.push(encodeFrame(FrameKind.data, 1, 0, 0, new Float32Array(100)))).toThrow('frame of 416 bytes exceeds the limit of 100');
    const odd = encodeFrame(FrameKind.data, 1, 0, 0);
    odd.writeUInt8(42, 4);
    expect(() => new FrameReader(100).push(odd)).toThrow('unknown frame kind 42');
    expect(() => payloadFloats(Buffer.alloc(6))).toThrow('data payload of 6 bytes is not whole float32s');
  });

  it('reuse pooled buffers of the same size', () => {
    const pool = new BufferPool();
    const a = pool.take(8192);
    pool.give(a);
    expect(pool.take(8192)).toBe(a);
    expect(pool.take(8192)).not.toBe(a);
  });
});
