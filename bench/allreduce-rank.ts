/**
 * One rank of a TCP ring all-reduce in its own process, driven over the IPC
 * channel by `bench/allreduce.ts` (and by the multi-process tests): open a
 * mesh, say its port, take the peers' addresses, then reduce seeded rows on
 * command and report timings (and the sum, when asked).
 */
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { TcpMesh, type HostPort } from '../src/actor/collective/tcp-mesh.js';
import { openTcpRing } from '../src/actor/collective/tcp-ring.js';
import type { AllReduceMember, Reduced } from '../src/actor/collective/types.js';
import { Rng } from '../src/rng.js';

export type RankCommand =
  | { readonly type: 'open'; readonly rank: number; readonly size: number; readonly epoch: number; readonly token: string; readonly listen: HostPort }
  | { readonly type: 'peers'; readonly peers: readonly HostPort[]; readonly length: number; readonly timeoutMs: number; readonly pieceBytes?: number }
  | { readonly type: 'reduce'; readonly seed: number; readonly rounds: number; readonly returnSum: boolean }
  /** Raw TCP, for comparison: listen and count `bytes`, then report how long they took. */
  | { readonly type: 'sink'; readonly listen: HostPort; readonly bytes: number }
  /** Raw TCP: connect and write `bytes` as fast as the socket takes them. */
  | { readonly type: 'blast'; readonly to: HostPort; readonly bytes: number }
  | { readonly type: 'close' };

export type RankReply =
  | { readonly type: 'address'; readonly address: HostPort }
  | { readonly type: 'ready' }
  | { readonly type: 'reduced'; readonly ms: readonly number[]; readonly cpuMs: number; readonly total: number; readonly waitedMs: number; readonly sum?: Float32Array }
  | { readonly type: 'sunk'; readonly ms: number }
  | { readonly type: 'sent' }
  | { readonly type: 'error'; readonly message: string };

/** The row a rank contributes for `seed`: the same at every call, different per rank. */
export function seededRow(rank: number, seed: number, length: number): Float32Array {
  const rng = new Rng(seed * 1000 + rank);
  const row = new Float32Array(length);
  for (let i = 0; i < length; i++) row[i] = rng.next() - 0.5;
  return row;
}

function reply(message: RankReply): void {
  process.send?.(message);
}

let mesh: TcpMesh | undefined;
let member: AllReduceMember | undefined;
let rank = 0;

async function handle(command: RankCommand): Promise<void> {
  switch (command.type) {
    case 'open':
      rank = command.rank;
      mesh = await TcpMesh.open({ rank, size: command.size, epoch: command.epoch, token: command.token, listen: command.listen });
      return reply({ type: 'address', address: mesh.address });
    case 'peers':
      mesh!.setPeers(command.peers);
      member = await openTcpRing(mesh!, { length: command.length, timeoutMs: command.timeoutMs, pieceBytes: command.pieceBytes });
      return reply({ type: 'ready' });
    case 'reduce': {
      const contribution = seededRow(rank, command.seed, member!.length);
      const ms: number[] = [];
      let cpuUs = 0;
      let last: Reduced = { total: 0, waitedMs: 0, sum: new Float32Array(0) };
      for (let i = 0; i < command.rounds; i++) {
        // Written before every reduce, as a caller does (the ring adds into its row), and not timed.
        member!.row.set(contribution);
        const cpu = process.cpuUsage();
        const started = performance.now();
        last = await member!.reduce();
        ms.push(performance.now() - started);
        const used = process.cpuUsage(cpu);
        cpuUs += used.user + used.system;
      }
      const cpuMs = cpuUs / 1000 / command.rounds;
      return reply({ type: 'reduced', ms, cpuMs, total: last.total, waitedMs: last.waitedMs, ...(command.returnSum ? { sum: last.sum } : {}) });
    }
    case 'sink': {
      const server = createServer((socket) => {
        const started = performance.now();
        let got = 0;
        socket.on('data', (chunk: Buffer) => {
          got += chunk.byteLength;
          if (got >= command.bytes) {
            reply({ type: 'sunk', ms: performance.now() - started });
            socket.destroy();
            server.close();
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(command.listen.port, command.listen.host, resolve));
      const address = server.address() as AddressInfo;
      return reply({ type: 'address', address: { host: address.address, port: address.port } });
    }
    case 'blast': {
      const socket = createConnection(command.to);
      await once(socket, 'connect');
      const block = Buffer.alloc(1 << 20, 7);
      for (let sent = 0; sent < command.bytes; sent += block.byteLength) {
        if (!socket.write(block)) await once(socket, 'drain');
      }
      socket.end();
      return reply({ type: 'sent' });
    }
    case 'close':
      await member?.close();
      await mesh?.close();
      process.disconnect?.();
      return;
  }
}

process.on('message', (command: RankCommand) => {
  handle(command).catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});
