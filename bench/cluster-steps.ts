/**
 * `npm run bench:cluster`: the step time of `data` on 2 replicas and of a
 * 2-stage `pipeline` three ways, measured in one run so that the ratios hold
 * on a noisy machine:
 *
 * - thread hosts (the replicas all-reduce in shared memory; the coordinator
 *   relays activations between stages),
 * - process hosts on this machine (a TCP ring on 127.0.0.1; stages send
 *   activations to each other over a TCP pair),
 * - a cluster: a real nats-server and two `paragen worker` processes on
 *   127.0.0.1, the coordinator relaying each step's batches and reports.
 *
 * On one machine the "hosts" share its cores, so this measures what the
 * cluster machinery costs per step, not what a second machine gains.
 * Prints a table; asserts nothing. Needs `nats-server` (Debian's package).
 *
 *   npm run bench:cluster [-- --quick]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { train, type TrainInput } from '../src/index.js';

const quick = process.argv.includes('--quick');
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const NATS = ['nats-server', '/usr/sbin/nats-server'].find((bin) => spawnSync(bin, ['--version']).status === 0);

const CASES: ReadonlyArray<{ model: 'vae-mlp' | 'dcgan' | 'dcgan-small'; strategy: 'data' | 'pipeline'; batchSize: number; steps: number }> = [
  { model: 'vae-mlp', strategy: 'data', batchSize: 128, steps: quick ? 20 : 60 },
  { model: 'dcgan', strategy: 'data', batchSize: 32, steps: quick ? 4 : 10 },
  { model: 'dcgan-small', strategy: 'pipeline', batchSize: 64, steps: quick ? 10 : 30 },
];
/** Steps before timing starts (warm-up: first compilations, first all-reduce). */
const WARMUP = 2;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function until(test: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what} not up within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** Median ms per step after the warm-up, of one run. */
async function stepMs(input: TrainInput, dir: string): Promise<number> {
  const run = train({ ...input, out: join(dir, `run-${Math.random().toString(36).slice(2)}`), sampleEvery: 0, checkpointEvery: 1_000_000, backend: 'wasm' });
  const times: number[] = [];
  for await (const e of run.events$) if (e.type === 'step') times.push(performance.now());
  await run.done;
  return median(times.slice(WARMUP).map((t, i) => t - times[WARMUP - 1 + i]!));
}

async function main(): Promise<void> {
  if (!NATS) throw new Error('nats-server is not installed (apt-get install -y nats-server)');
  const dir = mkdtempSync(join(tmpdir(), 'paragen-bench-cluster-'));
  const children: ChildProcess[] = [];
  try {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    children.push(spawn(NATS, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }));
    await until(() => accepts(port), 'nats-server');
    for (const name of ['w1', 'w2']) {
      const worker = spawn(process.execPath, [MAIN, 'worker', '--connect', url, '--name', name, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(worker);
      await new Promise<void>((resolve) => worker.stdout!.once('data', () => resolve()));
    }
    const rows: string[] = [];
    for (const { model, strategy, batchSize, steps } of CASES) {
      const base: TrainInput = { model, batchSize, steps: steps + WARMUP, strategy, workers: 2, seed: 1 };
      const thread = await stepMs({ ...base, host: 'thread' }, dir);
      const processes = await stepMs({ ...base, host: 'process' }, dir);
      const cluster = await stepMs({ ...base, cluster: url }, dir);
      const ratio = (ms: number) => `${(thread / ms).toFixed(2)}×`;
      rows.push(
        `| ${model} | ${strategy} | ${batchSize} | ${thread.toFixed(1)} | ${processes.toFixed(1)} (${ratio(processes)}) | ${cluster.toFixed(1)} (${ratio(cluster)}) |`,
      );
      process.stderr.write(`${model}: done\n`);
    }
    process.stdout.write(
      [
        '2 workers (data: 2 replicas; pipeline: 2 stages, 4 microbatches): median ms per step (speed relative to thread hosts)',
        '',
        '| model | strategy | batch | thread hosts | process hosts (TCP ring / pair) | cluster: 2 workers over NATS |',
        '| --- | --- | --- | --- | --- | --- |',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    for (const child of children.reverse()) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
