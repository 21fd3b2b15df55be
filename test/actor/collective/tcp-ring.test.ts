import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AllReduceMember } from '../../../src/actor/collective/types.js';
import { encodeFrame, FrameKind } from '../../../src/actor/collective/tcp-frames.js';
import { newRunToken, parseHostPort, TcpMesh } from '../../../src/actor/collective/tcp-mesh.js';
import { openTcpRing } from '../../../src/actor/collective/tcp-ring.js';
import { Rng } from '../../../src/rng.js';

const LOCAL = { host: '127.0.0.1', port: 0 };

async function meshes(n: number, options: { epoch?: number; token?: string; log?: (line: string) => void } = {}): Promise<TcpMesh[]> {
  const token = options.token ?? newRunToken();
  const all = await Promise.all(
    Array.from({ length: n }, (_, rank) => TcpMesh.open({ rank, size: n, epoch: options.epoch ?? 1, token, listen: LOCAL, log: options.log })),
  );
  for (const mesh of all) mesh.setPeers(all.map((m) => m.address));
  return all;
}

async function ring(n: number, length: number, options: { timeoutMs?: number; pieceBytes?: number } = {}): Promise<AllReduceMember[]> {
  const all = await meshes(n);
  return Promise.all(all.map((mesh) => openTcpRing(mesh, { length, ...options })));
}

/** Seeded rows; the float64 sum and the float64 sum of magnitudes (float32 rounding scales with it). */
function fill(members: readonly AllReduceMember[], seed: number): { exact: Float64Array; magnitude: Float64Array } {
  const rng = new Rng(seed);
  const exact = new Float64Array(members[0]!.length);
  const magnitude = new Float64Array(members[0]!.length);
  for (const member of members) {
    for (let i = 0; i < member.length; i++) {
      member.row[i] = (rng.next() - 0.5) * 2 ** (rng.int(20) - 10);
      exact[i]! += member.row[i]!;
      magnitude[i]! += Math.abs(member.row[i]!);
    }
  }
  return { exact, magnitude };
}

const closeAll = (members: readonly AllReduceMember[]) => Promise.all(members.map((m) => m.close()));

describe('TCP ring all-reduce', () => {
  for (const [n, length, pieceBytes] of [
    [2, 1000, 256],
    [3, 100_003, 4096],
    [3, 2, 64],
    [1, 10, 64],
  ] as const) {
    it(`sums ${length} floats over ${n} members, bit-identical at every member (pieces of ${pieceBytes} bytes)`, async () => {
      const members = await ring(n, length, { pieceBytes });
      try {
        for (const seed of [1, 2, 3]) {
          const { exact, magnitude } = fill(members, seed);
          const results = await Promise.all(members.map((m) => m.reduce()));
          const first = results[0]!;
          for (let i = 0; i < length; i++) {
            // n−1 float32 additions, each off by at most half an ulp of a partial sum.
            expect(Math.abs(first.sum[i]! - exact[i]!)).toBeLessThanOrEqual(n * 2 ** -24 * magnitude[i]!);
          }
          const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
          for (const other of results.slice(1)) {
            expect(bytes(other.sum).equals(bytes(first.sum))).toBe(true);
            expect(other.total).toBe(first.total);
          }
          let total = 0;
          for (const v of first.sum) total += v;
          expect(first.total).toBe(total);
        }
      } finally {
        await closeAll(members);
      }
    });
  }

  it('rejects every member at once when one closes mid-collective, and refuses later reductions', async () => {
    const members = await ring(3, 1 << 16, { timeoutMs: 60_000 });
    fill(members, 3);
    const pending = [members[0]!.reduce(), members[1]!.reduce()];
    await members[2]!.close();
    const outcomes = await Promise.allSettled(pending);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect(String((outcome as PromiseRejectedResult).reason.message)).toMatch(/^tensor link to rank \d lost: (connection closed|connection reset|closed here)$/);
    }
    await expect(members[0]!.reduce()).rejects.toThrow(/^tensor link to rank \d lost/);
    await closeAll(members);
  });

  it('times out when a peer never joins the collective', async () => {
    // Long enough that a loaded machine still connects the ring within it (the connection has the same timeout).
    const members = await ring(2, 64, { timeoutMs: 1000 });
    await expect(members[0]!.reduce()).rejects.toThrow('all-reduce 0 timed out after 1000 ms waiting for rank 1');
    await closeAll(members);
  });
});

describe('TCP mesh handshake', () => {
  it('refuses and logs a connection with the wrong token', async () => {
    const log: string[] = [];
    const [a, b] = await meshes(2, { log: (line) => log.push(line) });
    // rank 0 of another run (another token) dials rank 1 of this one.
    const intruder = await TcpMesh.open({ rank: 0, size: 2, epoch: 1, token: newRunToken(), listen: LOCAL });
    intruder.setPeers([intruder.address, b!.address]);
    await expect(intruder.link(1)).rejects.toThrow(`tensor connection to rank 1 at 127.0.0.1:${b!.address.port} refused: wrong token`);
    expect(log.some((line) => /^tensor connection from 127\.0\.0\.1:\d+ refused: wrong token$/.test(line))).toBe(true);
    await Promise.all([a!.close(), b!.close(), intruder.close()]);
  });

  it('refuses a hello of a stale epoch', async () => {
    const token = newRunToken();
    const log: string[] = [];
    const current = await TcpMesh.open({ rank: 1, size: 2, epoch: 4, token, listen: LOCAL, log: (line) => log.push(line) });
    const stale = await TcpMesh.open({ rank: 0, size: 2, epoch: 3, token, listen: LOCAL });
    stale.setPeers([stale.address, current.address]);
    await expect(stale.link(1)).rejects.toThrow('refused: stale epoch 3 (the run is at epoch 4)');
    expect(log.some((line) => line.endsWith('refused: stale epoch 3 (the run is at epoch 4)'))).toBe(true);
    await Promise.all([current.close(), stale.close()]);
  });

  it('closes a link on which a frame of another epoch arrives', async () => {
    const token = newRunToken();
    const log: string[] = [];
    const mesh = await TcpMesh.open({ rank: 1, size: 2, epoch: 7, token, listen: LOCAL, log: (line) => log.push(line) });
    const socket = createConnection({ host: '127.0.0.1', port: mesh.address.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const hello = Buffer.alloc(4 + token.length);
    hello.writeUInt32LE(0, 0);
    hello.write(token, 4, 'utf8');
    socket.write(encodeFrame(FrameKind.hello, 7, 0, 0, hello));
    const link = await mesh.link(0);
    socket.write(encodeFrame(FrameKind.data, 6, 5, 0, new Float32Array([1, 2])));
    await expect(link.recv(5)).rejects.toThrow('tensor link to rank 0 lost: frame of epoch 6 rejected (the run is at epoch 7)');
    expect(log).toContain('tensor link to rank 0 closed: frame of epoch 6 rejected (the run is at epoch 7)');
    socket.destroy();
    await mesh.close();
  });

  it('refuses a first frame that is not a hello', async () => {
    const log: string[] = [];
    const mesh = await TcpMesh.open({ rank: 1, size: 2, epoch: 1, token: newRunToken(), listen: LOCAL, log: (line) => log.push(line) });
    const socket = createConnection({ host: '127.0.0.1', port: mesh.address.port });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => undefined);
    socket.resume();
    socket.write(encodeFrame(FrameKind.data, 1, 0, 0, new Float32Array([1])));
    await closed;
    expect(log.some((line) => line.endsWith('refused: the first frame was not a hello'))).toBe(true);
    await mesh.close();
  });

  it('says why a dial fails when nothing listens', async () => {
    const [a, b] = await meshes(2);
    const port = b!.address.port;
    await b!.close();
    await expect(a!.link(1)).rejects.toThrow(`tensor connection to rank 1 at 127.0.0.1:${port} refused: connection refused (nothing listens there)`);
    await a!.close();
  });

  it('sends and receives Float32Arrays point to point, per tag, in order', async () => {
    const [a, b] = await meshes(2);
    await a!.send(1, 3, new Float32Array([1, 2, 3]));
    await a!.send(1, 9, new Float32Array([9]));
    await a!.send(1, 3, new Float32Array([4]));
    expect([...(await b!.recv(0, 9, 5000))]).toEqual([9]);
    expect([...(await b!.recv(0, 3, 5000))]).toEqual([1, 2, 3]);
    expect([...(await b!.recv(0, 3, 5000))]).toEqual([4]);
    await b!.send(0, 1, new Float32Array(100_000).fill(0.5));
    expect((await a!.recv(1, 1, 5000)).reduce((s, v) => s + v, 0)).toBe(50_000);
    await expect(b!.recv(0, 2, 100)).rejects.toThrow('receive of tag 2 timed out after 100 ms waiting for rank 0');
    await Promise.all([a!.close(), b!.close()]);
    // A lower rank that never dials: the send gives up rather than wait forever.
    const [, lone] = await meshes(2);
    await expect(lone!.send(0, 4, new Float32Array(1), 100)).rejects.toThrow('send of tag 4 timed out after 100 ms waiting for rank 0');
    await lone!.close();
  });

  it('validates its options', async () => {
    expect(() => parseHostPort('nohost', 'advertise')).toThrow("advertise must be HOST:PORT (a port 0-65535), got 'nohost'");
    expect(parseHostPort('[::1]:70', 'listen')).toEqual({ host: '::1', port: 70 });
    expect(() => TcpMesh.open({ rank: 2, size: 2, epoch: 1, token: newRunToken(), listen: LOCAL })).toThrow('rank must be an integer in [0, 2), got 2');
    expect(() => TcpMesh.open({ rank: 0, size: 2, epoch: 1, token: 'short', listen: LOCAL })).toThrow(
      "token must be at least 16 characters, got '5 characters'",
    );
    await expect(TcpMesh.open({ rank: 0, size: 1, epoch: 1, token: newRunToken(), listen: { host: '192.0.2.1', port: 0 } })).rejects.toThrow(
      "listen must be an address this host can listen on (address not on this host), got '192.0.2.1:0'",
    );
  });
});
