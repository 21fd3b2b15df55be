/**
 * `paragen serve` under load: autocannon against a real `paragen serve`
 * child process on 127.0.0.1, beside `sample()` in one process, measured in
 * the same run.
 *
 *   npm run bench:serve [-- --run DIR --connections 1,8,64 --duration 10 --workers 1 --soak 60 --json]
 *
 * Without --run a fresh dcgan-small run is written (seeded weights as a
 * checkpoint, as the trainer writes them: generating costs the same for
 * trained weights). Each level is `--duration` seconds of
 * GET /v1/samples?n=16&format=npy; then issue 13's check, 32 connections for
 * 10 s, against `paragen sample --n 4096` in one process (the in-process
 * figure, model already loaded, and the CLI's, start-up included). RSS is
 * the server's, read from its /metrics every second; `--soak S` adds S
 * seconds at 64 connections to see whether it stays flat.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { useBackend } from '../src/backend/index.js';
import { cpuMark, otherLoad, processCpu } from '../src/bench/load.js';
import { sample } from '../src/eval/sample.js';
import { writeUntrainedRun } from './untrained-run.js';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    connections: { type: 'string', default: '1,8,64' },
    duration: { type: 'string', default: '10' },
    workers: { type: 'string', default: '1' },
    n: { type: 'string', default: '16' },
    soak: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const duration = Number(values.duration);
const main = new URL('../src/cli/main.js', import.meta.url).pathname;


/** `paragen serve` as a child process; resolves with its URL once it is ready. */
async function startServe(run: string) {
  const child = spawn(process.execPath, [main, 'serve', '--run', run, '--port', '0', '--backend', 'wasm', '--workers', values.workers], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/[^,\s]+)/.exec(stderr);
      if (match && stderr.includes('ready')) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`paragen serve exited ${code}: ${stderr}`)));
  });
  return { child, url };
}

/** The server's RSS in MiB, from its own /metrics. */
async function rss(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^paragen_process_resident_memory_bytes (\S+)$/m.exec(text)?.[1]) / 2 ** 20;
}

interface Row {
  connections: number;
  seconds: number;
  requestsPerSec: number;
  imagesPerSec: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  non2xx: number;
  rssStartMiB: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  otherCpu: number | null;
}

async function level(url: string, connections: number, seconds: number, serverPid: number | undefined): Promise<Row> {
  const samples = [await rss(url)];
  const timer = setInterval(() => void rss(url).then((v) => samples.push(v), () => undefined), 1000);
  const from = cpuMark();
  const serverFrom = processCpu(serverPid);
  const result = await autocannon({ url: `${url}/v1/samples?n=${n}&format=npy`, connections, duration: seconds });
  clearInterval(timer);
  samples.push(await rss(url));
  const requestsPerSec = result.requests.total / result.duration;
  return {
    connections,
    seconds: result.duration,
    requestsPerSec,
    imagesPerSec: requestsPerSec * n,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    rssStartMiB: samples[0]!,
    rssMaxMiB: Math.max(...samples),
    rssEndMiB: samples.at(-1)!,
    // The server is our child: its CPU is not "other".
    otherCpu: otherLoad(from, cpuMark(), (processCpu(serverPid) ?? 0) - (serverFrom ?? 0)) ?? null,
  };
}

/** `paragen sample --n count` as a user runs it: a fresh process, start-up and load included. */
async function cliSample(run: string, out: string, count: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [main, 'sample', '--run', run, '--n', String(count), '--out', out, '--backend', 'wasm'], {
      stdio: 'ignore',
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`paragen sample exited ${code}`))));
  });
  return count / ((performance.now() - t0) / 1000);
}

/** `sample()` in this process, model loaded once beforehand: the generator's own pace. */
async function directSample(run: string, count: number): Promise<number> {
  await sample({ run, n: 16, backend: 'wasm' });
  const t0 = performance.now();
  await sample({ run, n: count, seed: 1, backend: 'wasm' });
  return count / ((performance.now() - t0) / 1000);
}

const root = await mkdtemp(join(tmpdir(), 'paragen-serve-bench-'));
const server = { child: undefined as ReturnType<typeof spawn> | undefined };
try {
  await useBackend('wasm');
  const run = values.run ?? join(root, 'run');
  if (!values.run) await writeUntrainedRun(run, 'dcgan-small');
  const direct = await directSample(run, 4096);
  const cli = await cliSample(run, join(root, 'direct.npy'), 4096);
  const started = await startServe(run);
  server.child = started.child;
  // A warm-up: the worker thread's first batch builds the network.
  await autocannon({ url: `${started.url}/v1/samples?n=${n}&format=npy`, connections: 4, duration: 2 });
  const rows: Row[] = [];
  for (const c of values.connections.split(',').map(Number)) rows.push(await level(started.url, c, duration, started.child.pid));
  const check = await level(started.url, 32, 10, started.child.pid);
  const soak = Number(values.soak) > 0 ? await level(started.url, 64, Number(values.soak), started.child.pid) : undefined;
  const directAfter = await directSample(run, 4096);
  const report = {
    n,
    workers: Number(values.workers),
    direct: { inProcessImagesPerSec: direct, inProcessAfterImagesPerSec: directAfter, cliImagesPerSec: cli },
    rows,
    ...(soak ? { soak } : {}),
    check: { ...check, ratioToDirect: check.imagesPerSec / Math.max(direct, directAfter), target: 0.5 },
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const fmt = (v: number, d = 0) => v.toFixed(d).padStart(8);
    console.log(`paragen serve: GET /v1/samples?n=${n}&format=npy, dcgan-small, wasm, --workers ${values.workers}, Node ${process.version}`);
    console.log(
      `direct sample() in one process: ${direct.toFixed(0)} images/s before the load, ${directAfter.toFixed(0)} after; ` +
        `paragen sample --n 4096 (a fresh process): ${cli.toFixed(0)} images/s`,
    );
    console.log('connections      req/s  images/s  p50 ms  p99 ms  errors  non-2xx  RSS MiB start/max/end  vs direct  other CPU');
    for (const r of [...rows, check, ...(soak ? [soak] : [])]) {
      console.log(
        `${String(r.connections).padStart(11)} ${fmt(r.requestsPerSec, 1)} ${fmt(r.imagesPerSec)} ${fmt(r.p50ms, 1)} ${fmt(r.p99ms, 1)} ` +
          `${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(8)}  ` +
          `${r.rssStartMiB.toFixed(0)}/${r.rssMaxMiB.toFixed(0)}/${r.rssEndMiB.toFixed(0)}`.padEnd(23) +
          `${(r.imagesPerSec / Math.max(direct, directAfter)).toFixed(2).padStart(9)}  ` +
          (r.otherCpu === null ? '' : `${r.otherCpu.toFixed(2)} cores`),
      );
    }
    console.log(
      `issue 13 check (autocannon -c 32 -d 10): ${check.imagesPerSec.toFixed(0)} images/s = ` +
        `${report.check.ratioToDirect.toFixed(2)}× direct (target ≥ 0.5), ${check.errors} errors, ${check.non2xx} non-2xx`,
    );
    if (soak) {
      console.log(`soak: 64 connections for ${soak.seconds.toFixed(0)} s, server RSS ${soak.rssStartMiB.toFixed(0)} → ${soak.rssEndMiB.toFixed(0)} MiB (max ${soak.rssMaxMiB.toFixed(0)})`);
    }
  }
  if (check.errors > 0 || check.non2xx > 0 || report.check.ratioToDirect < 0.5) process.exitCode = 1;
} finally {
  server.child?.kill('SIGTERM');
  await rm(root, { recursive: true, force: true });
}
