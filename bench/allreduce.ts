/**
 * `npm run bench:allreduce`: the TCP ring all-reduce's algorithm and bus
 * bandwidth (busbw = algbw·2(n−1)/n, what each link carries) for 1–64 MB rows
 * on 2 and 3 ranks, each rank its own process, beside raw TCP between two
 * processes measured in the same run. On loopback, and — where network
 * namespaces can be made (root) — over 1 gbit `tc tbf` links between
 * namespaces. Prints a table; asserts nothing.
 *
 *   npm run bench:allreduce [-- --quick] [-- --no-netns] [-- --piece-kb 512]
 */
import { availableParallelism, loadavg } from 'node:os';
import { makeNamespaces, netnsWorks, type Namespaces } from './netns.js';
import { expectReply, RankProcess, reduceAll, startRanks, type RankPlace } from './allreduce-ranks.js';

const MB = 1024 * 1024;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const pieceAt = args.indexOf('--piece-kb');
const pieceBytes = pieceAt >= 0 ? Number(args[pieceAt + 1]) * 1024 : undefined;
const SIZES = quick ? [1, 8] : [1, 4, 8, 16, 32, 64];
const WORKERS = [2, 3];

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Raw TCP from one process to another: GB/s, the median of `reps` transfers of `bytes`. */
async function rawTcp(from: RankPlace, to: RankPlace, bytes: number, reps: number): Promise<number> {
  const sender = new RankProcess(0, from);
  const sink = new RankProcess(1, to);
  try {
    const rates: number[] = [];
    for (let i = 0; i < reps; i++) {
      const address = expectReply(await sink.ask({ type: 'sink', listen: { host: to.host, port: 0 }, bytes }), 'address').address;
      const sunk = sink.next();
      expectReply(await sender.ask({ type: 'blast', to: address, bytes }), 'sent');
      const { ms } = expectReply(await sunk, 'sunk');
      rates.push(bytes / (ms / 1000) / 1e9);
    }
    return median(rates);
  } finally {
    await Promise.all([sender.close(), sink.close()]);
  }
}

interface Row {
  readonly link: string;
  readonly workers: number;
  readonly mb: number;
  readonly ms: number;
  readonly algbw: number;
  readonly busbw: number;
  /** CPU time of the busiest rank per collective: near `ms` means CPU-bound. */
  readonly cpuMs: number;
}

/** One ring of `places.length` ranks, every size in turn: the median collective time (the slowest rank's) per size. */
async function ringRows(link: string, places: readonly RankPlace[], rounds: number): Promise<Row[]> {
  const n = places.length;
  const rows: Row[] = [];
  for (const mb of SIZES) {
    const length = (mb * MB) / 4;
    const ranks = await startRanks({ places, length, timeoutMs: 120_000, pieceBytes });
    try {
      await reduceAll(ranks, 1, 1); // warm-up: first-touch of the buffers, TCP windows opening
      const replies = (await reduceAll(ranks, 2, rounds)).map((r) => expectReply(r, 'reduced'));
      const perRound = replies[0]!.ms.map((_, i) => Math.max(...replies.map((r) => r.ms[i]!)));
      const ms = median(perRound);
      const algbw = (mb * MB) / (ms / 1000) / 1e9;
      const cpuMs = Math.max(...replies.map((r) => r.cpuMs));
      rows.push({ link, workers: n, mb, ms, algbw, busbw: (algbw * 2 * (n - 1)) / n, cpuMs });
    } finally {
      await Promise.all(ranks.map((r) => r.close()));
    }
  }
  return rows;
}

function print(rows: readonly Row[], raw: ReadonlyMap<string, number>): void {
  console.log('| link | workers | MB | ms | cpu ms | algbw GB/s | busbw GB/s | busbw / raw TCP |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const base = raw.get(r.link)!;
    console.log(
      `| ${r.link} | ${r.workers} | ${r.mb} | ${r.ms.toFixed(1)} | ${r.cpuMs.toFixed(1)} | ${r.algbw.toFixed(3)} | ${r.busbw.toFixed(3)} | ${((100 * r.busbw) / base).toFixed(0)}% |`,
    );
  }
}

async function main(): Promise<void> {
  const raw = new Map<string, number>();
  const rows: Row[] = [];
  // Figures from a shared machine mean little without its load: say it.
  console.log(`${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const loopback: RankPlace = { host: '127.0.0.1' };
  raw.set('loopback', await rawTcp(loopback, loopback, 512 * MB, 5));
  console.log(`raw TCP, loopback, process to process: ${raw.get('loopback')!.toFixed(3)} GB/s`);
  for (const n of WORKERS) rows.push(...(await ringRows('loopback', Array.from({ length: n }, () => loopback), quick ? 3 : 5)));

  if (!args.includes('--no-netns')) {
    if (!netnsWorks()) {
      console.log('network namespaces cannot be made here (needs root and ip/tc): 1 gbit rows skipped');
    } else {
      let spaces: Namespaces | undefined;
      const cleanup = (): void => spaces?.remove();
      process.once('SIGINT', () => (cleanup(), process.exit(130)));
      try {
        spaces = makeNamespaces(Math.max(...WORKERS), '1gbit');
        const places = spaces.names.map((netns, i) => ({ host: spaces!.addresses[i]!, netns }));
        raw.set('1gbit tbf', await rawTcp(places[0]!, places[1]!, 128 * MB, 3));
        console.log(`raw TCP, 1 gbit tbf veth between namespaces: ${raw.get('1gbit tbf')!.toFixed(3)} GB/s`);
        for (const n of WORKERS) rows.push(...(await ringRows('1gbit tbf', places.slice(0, n), 3)));
      } finally {
        cleanup();
      }
    }
  }
  print(rows, raw);
}

await main();
