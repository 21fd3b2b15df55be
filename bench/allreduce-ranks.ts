/**
 * The parent's side of `allreduce-rank.ts`: forks one process per rank
 * (optionally inside a network namespace), wires them into a ring and asks
 * them to reduce. Used by `bench/allreduce.ts` and the multi-process tests.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostPort } from '../src/actor/collective/tcp-mesh.js';
import { newRunToken } from '../src/actor/collective/tcp-mesh.js';
import type { RankCommand, RankReply } from './allreduce-rank.js';

/** The compiled rank entry: beside this file in dist, or in dist when this runs from sources (tests). */
function rankEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = here.endsWith('.js') ? join(dirname(here), 'allreduce-rank.js') : fileURLToPath(new URL('../dist/bench/allreduce-rank.js', import.meta.url));
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  return entry;
}

export interface RankPlace {
  /** Where the rank listens (and what the others dial). */
  readonly host: string;
  /** A network namespace to run the rank in (`ip netns exec NAME`). */
  readonly netns?: string;
}

export class RankProcess {
  readonly rank: number;
  readonly child: ChildProcess;
  readonly #replies: RankReply[] = [];
  readonly #waiters: Array<(reply: RankReply) => void> = [];
  #exit: string | undefined;

  constructor(rank: number, place: RankPlace) {
    this.rank = rank;
    const entry = rankEntry();
    this.child = place.netns
      ? fork(entry, [], { execPath: 'ip', execArgv: ['netns', 'exec', place.netns, process.execPath], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply: RankReply) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(reply);
      else this.#replies.push(reply);
    });
    this.child.once('exit', (code, signal) => {
      this.#exit = `rank ${rank} exited (${signal ?? `code ${code}`})`;
      for (const waiter of this.#waiters.splice(0)) waiter({ type: 'error', message: this.#exit });
    });
  }

  /** Sends a command and waits for the rank's next reply. */
  ask(command: RankCommand): Promise<RankReply> {
    const reply = this.next();
    this.child.send(command);
    return reply;
  }

  /** The rank's next reply (one it sends later, unasked: a sink's `sunk`). */
  next(): Promise<RankReply> {
    return new Promise<RankReply>((resolve) => {
      const ready = this.#replies.shift();
      if (ready) resolve(ready);
      else if (this.#exit) resolve({ type: 'error', message: this.#exit });
      else this.#waiters.push(resolve);
    });
  }

  async close(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    // A rank that is stopped or already going away may have closed its channel: then it is ended instead.
    if (this.child.connected) this.child.send({ type: 'close' } satisfies RankCommand, (error) => error && this.child.kill('SIGKILL'));
    else this.child.kill('SIGKILL');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function expect<T extends RankReply['type']>(reply: RankReply, type: T): Extract<RankReply, { type: T }> {
  if (reply.type !== type) throw new Error(reply.type === 'error' ? reply.message : `expected ${type}, got ${reply.type}`);
  return reply as Extract<RankReply, { type: T }>;
}

export interface RingOptions {
  readonly places: readonly RankPlace[];
  readonly length: number;
  readonly timeoutMs: number;
  readonly pieceBytes?: number;
  readonly epoch?: number;
}

/** Starts one process per place and joins them in a ring. */
export async function startRanks(options: RingOptions): Promise<RankProcess[]> {
  const size = options.places.length;
  const token = newRunToken();
  const ranks = options.places.map((place, rank) => new RankProcess(rank, place));
  try {
    const addresses: HostPort[] = [];
    for (const [rank, place] of options.places.entries()) {
      const reply = await ranks[rank]!.ask({ type: 'open', rank, size, epoch: options.epoch ?? 1, token, listen: { host: place.host, port: 0 } });
      addresses.push(expect(reply, 'address').address);
    }
    const ready = await Promise.all(
      ranks.map((r) => r.ask({ type: 'peers', peers: addresses, length: options.length, timeoutMs: options.timeoutMs, pieceBytes: options.pieceBytes })),
    );
    for (const reply of ready) expect(reply, 'ready');
    return ranks;
  } catch (error) {
    await Promise.all(ranks.map((r) => r.close()));
    throw error;
  }
}

/** Every rank reduces its seeded row `rounds` times; the replies, by rank. */
export async function reduceAll(ranks: readonly RankProcess[], seed: number, rounds: number, returnSum = false): Promise<RankReply[]> {
  return Promise.all(ranks.map((r) => r.ask({ type: 'reduce', seed, rounds, returnSum })));
}

export { expect as expectReply };
