import { describe, expect, it } from 'vitest';
import { newRunToken } from '../../../src/actor/collective/tcp-mesh.js';
import { TcpPair } from '../../../src/actor/collective/tcp-pair.js';
import { ParagenError } from '../../../src/errors.js';

/** Both stages opened at `epoch` and connected to each other. */
async function pair(epoch = 1, timeoutMs = 10_000): Promise<[TcpPair, TcpPair]> {
  const token = newRunToken();
  const stages = [new TcpPair({ via: 'tcp', side: 0, timeoutMs }), new TcpPair({ via: 'tcp', side: 1, timeoutMs })] as const;
  const addresses = await Promise.all(stages.map((s) => s.open(epoch, token)));
  await Promise.all([stages[0].connect(addresses[1]!), stages[1].connect(addresses[0]!)]);
  return [stages[0], stages[1]];
}

describe('TCP stage pair', () => {
  it('carries arrays both ways, in order per stream, streams independent', async () => {
    const [first, last] = await pair();
    try {
      const a = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
      first.send(0, a);
      first.send(1, new Float32Array([5, 6]));
      first.send(0, new Float32Array([1, 2, 3]));
      // Stream 1 is read first: it does not wait behind stream 0.
      expect([...(await last.recv(1))]).toEqual([5, 6]);
      expect(await last.recv(0)).toEqual(a);
      expect([...(await last.recv(0))]).toEqual([1, 2, 3]);
      last.send(0, new Float32Array([-1]));
      expect([...(await first.recv(0))]).toEqual([-1]);
    } finally {
      await Promise.all([first.close(), last.close()]);
    }
  });

  it('rejects a pending receive at once when the other stage closes', async () => {
    const [first, last] = await pair();
    const pending = last.recv(0);
    const started = Date.now();
    await first.close();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParagenError);
    expect(Date.now() - started).toBeLessThan(5000);
    // Sending into a lost pair does not throw later, where it was already failed: it throws now, with a clear line.
    expect(() => last.send(0, new Float32Array(1))).toThrow(/rank 0/);
    await last.close();
  });

  it('a receive nobody answers ends at the timeout, naming the wait', async () => {
    const [first, last] = await pair(1, 200);
    try {
      await expect(last.recv(3)).rejects.toThrow(/receive of tag 3/);
    } finally {
      await Promise.all([first.close(), last.close()]);
    }
  });

  it('refuses to send or receive before a rendezvous, and a reopened pair is a new epoch', async () => {
    const lone = new TcpPair({ via: 'tcp', side: 0 });
    expect(() => lone.send(0, new Float32Array(1))).toThrow(/no stage connection at epoch -1/);
    await expect(lone.recv(0)).rejects.toThrow(/no stage connection/);
    const [first, last] = await pair(4);
    try {
      first.send(0, new Float32Array([9]));
      // The old connection's frames are gone with it: after a new rendezvous only new frames arrive.
      const token = newRunToken();
      const addresses = await Promise.all([first.open(5, token), last.open(5, token)]);
      await Promise.all([first.connect(addresses[1]), last.connect(addresses[0])]);
      first.send(0, new Float32Array([10]));
      expect([...(await last.recv(0))]).toEqual([10]);
    } finally {
      await Promise.all([first.close(), last.close()]);
    }
  });

  it('names a bad side', () => {
    expect(() => new TcpPair({ via: 'tcp', side: 2 as 0 })).toThrow(/side/);
  });
});
