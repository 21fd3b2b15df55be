import { describe, expect, it } from 'vitest';
import { expectReply, reduceAll, startRanks } from '../../../bench/allreduce-ranks.js';
import { seededRow } from '../../../bench/allreduce-rank.js';

const places = (n: number) => Array.from({ length: n }, () => ({ host: '127.0.0.1' }));

describe('TCP ring all-reduce across child processes', () => {
  it('3 processes end with the same bits, the float64 reference within float32 rounding', async () => {
    const length = 300_007;
    const ranks = await startRanks({ places: places(3), length, timeoutMs: 20_000, pieceBytes: 64 * 1024 });
    try {
      const replies = (await reduceAll(ranks, 5, 2, true)).map((r) => expectReply(r, 'reduced'));
      const rows = [0, 1, 2].map((rank) => seededRow(rank, 5, length));
      const first = replies[0]!.sum!;
      for (let i = 0; i < length; i++) {
        const exact = rows[0]![i]! + rows[1]![i]! + rows[2]![i]!;
        const magnitude = Math.abs(rows[0]![i]!) + Math.abs(rows[1]![i]!) + Math.abs(rows[2]![i]!);
        if (Math.abs(first[i]! - exact) > 3 * 2 ** -24 * magnitude) throw new Error(`element ${i}: ${first[i]} vs ${exact}`);
      }
      const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      for (const reply of replies.slice(1)) {
        expect(bytes(reply.sum!).equals(bytes(first))).toBe(true);
        expect(reply.total).toBe(replies[0]!.total);
      }
    } finally {
      await Promise.all(ranks.map((r) => r.close()));
    }
  });

  it('a SIGKILLed rank makes the others reject within the timeout', async () => {
    const ranks = await startRanks({ places: places(3), length: 1 << 20, timeoutMs: 15_000 });
    try {
      expectReply((await reduceAll(ranks, 1, 1))[0]!, 'reduced');
      ranks[2]!.child.kill('SIGKILL');
      // The survivors start a collective the dead rank will never join.
      const replies = await reduceAll(ranks.slice(0, 2), 2, 1);
      for (const reply of replies) {
        expect(reply.type).toBe('error');
        // Not the timeout: the closed socket rejects at once, and a member that fails closes its links,
        // so each survivor names whichever neighbour it heard from first.
        expect(reply.type === 'error' && reply.message).toMatch(/^tensor link to rank [0-2] lost: connection (closed|reset)$/);
      }
    } finally {
      await Promise.all(ranks.map((r) => r.close()));
    }
  });

  it('a SIGSTOPped rank makes the others reject at the collective timeout', async () => {
    const ranks = await startRanks({ places: places(2), length: 1024, timeoutMs: 1000 });
    try {
      ranks[1]!.child.kill('SIGSTOP');
      const [reply] = await reduceAll(ranks.slice(0, 1), 1, 1);
      expect(reply).toEqual({ type: 'error', message: 'all-reduce 0 timed out after 1000 ms waiting for rank 1' });
    } finally {
      ranks[1]!.child.kill('SIGKILL');
      await Promise.all(ranks.map((r) => r.close()));
    }
  });
});
