/**
 * Per-message overhead of the actor runtime, thread host and process host.
 *
 *   npm run bench:actors [-- --reps 2000 --json]
 *
 * Round trips to a probe actor (no model, no TensorFlow.js): an empty request
 * (`ping`), and a 1 MB Float32Array sent and sent back (`echo`) — moved, not
 * copied, between threads; serialised both ways over a process's IPC channel.
 * For comparison, the same round trip on a bare MessagePort between two
 * threads, without comlink, mailbox or supervision. Each figure is the median
 * (and 90th percentile) of `--reps` sequential round trips after warm-up.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { paragenSystem } from '../actors/catalog.js';
import { transfer, type HostKind } from '../src/actor/index.js';

interface Row {
  host: string;
  message: string;
  medianUs: number;
  p90Us: number;
  perSecond: number;
}

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '2000' },
    json: { type: 'boolean', default: false },
  },
});
const reps = Number(values.reps);
const MB = 1 << 20;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}

/** Microseconds of `n` sequential calls of `fn`, after `n / 10` warm-up calls. */
async function time(fn: () => Promise<unknown>, n: number): Promise<Omit<Row, 'host' | 'message'>> {
  for (let i = 0; i < Math.max(10, n / 10); i++) await fn();
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    us.push((performance.now() - t0) * 1000);
  }
  const medianUs = quantile(us, 0.5);
  return { medianUs, p90Us: quantile(us, 0.9), perSecond: 1e6 / medianUs };
}

async function actorRows(host: HostKind): Promise<Row[]> {
  const system = paragenSystem({ host, workers: 1 });
  try {
    const probe = await system.spawn('probe', 'probe', { label: 'bench' }, { worker: 0 });
    let data: Float32Array = new Float32Array(MB / 4);
    const echo = async () => {
      data = (await probe.call('echo', transfer({ data }, [data]))).data;
    };
    // The 1 MB rows send fewer messages: each costs a copy on the process host.
    return [
      { host, message: 'empty request', ...(await time(() => probe.call('ping'), reps)) },
      { host, message: '1 MB Float32Array, both ways', ...(await time(echo, Math.max(50, reps / 10))) },
    ];
  } finally {
    await system.close();
  }
}

/** The floor: a bare MessagePort echo between two threads. */
async function bareRows(): Promise<Row[]> {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.once('message', (port) => port.on('message', (m) => port.postMessage(m, m && m.buffer ? [m.buffer] : [])));`,
    { eval: true },
  );
  const { port1, port2 } = new MessageChannel();
  worker.postMessage(port2, [port2]);
  const roundTrip = (message: unknown, list: ArrayBuffer[] = []) =>
    new Promise<unknown>((resolve) => {
      port1.once('message', resolve);
      port1.postMessage(message, list);
    });
  let data: Float32Array = new Float32Array(MB / 4);
  try {
    return [
      { host: 'bare port', message: 'empty message', ...(await time(() => roundTrip(null), reps)) },
      {
        host: 'bare port',
        message: '1 MB Float32Array, both ways',
        ...(await time(async () => {
          data = (await roundTrip(data, [data.buffer as ArrayBuffer])) as Float32Array;
        }, Math.max(50, reps / 10))),
      },
    ];
  } finally {
    port1.close();
    await worker.terminate();
  }
}

const rows = [...(await actorRows('thread')), ...(await actorRows('process')), ...(await bareRows())];

if (values.json) {
  console.log(JSON.stringify({ reps, rows }, null, 2));
} else {
  const header = ['host', 'message', 'median µs', 'p90 µs', 'round trips/s'];
  const table = rows.map((r) => [r.host, r.message, r.medianUs.toFixed(1), r.p90Us.toFixed(1), r.perSecond.toFixed(0)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`actor round trips, median of ${reps} (1 MB rows: ${Math.max(50, reps / 10)}), Node ${process.version}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of table) console.log(line(row));
}
