/**
 * `paragen dashboard`'s JSON API and live stream against a real server on
 * 127.0.0.1 and runs the trainer really wrote (the pages themselves are
 * tested in Chromium: dashboard.browser.test.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../src/serve/dashboard.js';
import type { RunDetail, RunInfo } from '../../src/serve/dashboard-data.js';
import { Child, paragen } from '../helpers/cli.js';
import { miniMnist } from '../eval/fixtures.js';
import { TINY, trainTinyRun } from './fixtures.js';

let root: string;
let runs: string;
let dashboard: Dashboard;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'paragen-dashboard-'));
  runs = join(root, 'runs');
  await mkdir(runs);
  await trainTinyRun(runs, 'gan', 'dcgan-small', 3, ['--sample-every', '1']);
  // A run whose generator's thread dies at step 2 and is restarted from its snapshot.
  await trainTinyRun(runs, 'restarted', 'dcgan-small', 3, ['--fault', 'crash:generator@2', '--snapshot-every', '1']);
  // A run whose process died before the end: config and metrics, no summary, no lock.
  await mkdir(join(runs, 'crashed'));
  await writeFile(join(runs, 'crashed', 'config.json'), JSON.stringify({ model: 'vae-mlp', strategy: 'single', backend: 'wasm', steps: 10 }));
  await writeFile(join(runs, 'crashed', 'metrics.jsonl'), '{"step":1,"losses":{"loss":500},"samplesPerSec":9,"skipped":true}\n{"step":2,"lo');
  await mkdir(join(runs, 'not-a-run'));
  dashboard = await startDashboard({ runs, host: '127.0.0.1', port: 0, pollMs: 50 });
}, 180_000);

afterAll(async () => {
  await dashboard?.close();
  await rm(root, { recursive: true, force: true });
});

describe('paragen dashboard API', () => {
  it('lists the runs with model, strategy, backend, steps, state and last losses', async () => {
    const list = (await (await fetch(`${dashboard.url}/api/runs`)).json()) as RunInfo[];
    const byName = Object.fromEntries(list.map((r) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual(['crashed', 'gan', 'restarted']);
    expect(byName['gan']).toMatchObject({ model: 'dcgan-small', strategy: 'single', backend: 'wasm', workers: 1, step: 3, totalSteps: 3, state: 'done' });
    expect(Object.keys(byName['gan']!.losses).sort()).toEqual(['discriminator', 'generator']);
    expect(byName['crashed']).toMatchObject({ model: 'vae-mlp', step: 1, totalSteps: 10, state: 'failed', losses: { loss: 500 } });
  });

  it("gives a run's metrics, grids, checkpoints, warnings and config", async () => {
    const gan = (await (await fetch(`${dashboard.url}/api/runs/gan`)).json()) as RunDetail;
    const lines = readFileSync(join(runs, 'gan', 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(gan.metrics).toHaveLength(lines.length);
    expect(gan.metricsOffset).toBe(readFileSync(join(runs, 'gan', 'metrics.jsonl')).length);
    expect(gan.samples).toEqual([1, 2, 3]);
    expect(gan.checkpoints).toEqual([3]);
    expect(gan.config).toMatchObject({ model: 'dcgan-small', steps: 3 });
    // events.jsonl: the start's placement, and the restart with the last step done before it (the crash came at step 2).
    expect(gan.placement).toEqual({ dataLoader: 0, generator: 0, discriminator: 0 });
    expect(gan.restarts).toEqual([]);
    const restarted = (await (await fetch(`${dashboard.url}/api/runs/restarted`)).json()) as RunDetail;
    expect(restarted.restarts).toEqual([expect.objectContaining({ actor: 'generator', attempt: 1, step: 1 })]);
    expect(restarted.restarts[0]!.cause).toMatch(/exited with code 1/);
    const crashed = (await (await fetch(`${dashboard.url}/api/runs/crashed`)).json()) as RunDetail;
    expect(crashed.warnings).toEqual([{ step: 1, message: 'skipped batch at step 1: a NaN or Inf loss' }]);
    const png = await fetch(`${dashboard.url}/runs/gan/samples/2.png`);
    expect([png.status, png.headers.get('content-type')]).toEqual([200, 'image/png']);
  });

  it('answers 404 for what is not a run, a folder name that climbs out included', async () => {
    for (const [path, error] of [
      ['/api/runs/nope', `no run nope in ${runs}`],
      ['/api/runs/not-a-run', `no run not-a-run in ${runs}`],
      ['/api/runs/..%2F..%2Fetc', `no run ../../etc in ${runs}`],
      ['/runs/gan/samples/..%2Fconfig.json', 'no sample grid ../config.json'],
      ['/assets/package.json', 'no asset package.json'],
    ] as const) {
      const r = await fetch(`${dashboard.url}${path}`);
      expect([path, r.status, await r.json()]).toEqual([path, 404, { error }]);
    }
    expect((await fetch(`${dashboard.url}/runs/nope`)).status).toBe(404);
  });

  it('streams each new metrics line, whole lines only, over Server-Sent Events', async () => {
    const crashed = join(runs, 'crashed', 'metrics.jsonl');
    const offset = Buffer.byteLength('{"step":1,"losses":{"loss":500},"samplesPerSec":9,"skipped":true}\n');
    const controller = new AbortController();
    const response = await fetch(`${dashboard.url}/api/runs/crashed/stream?offset=${offset}`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    const until = async (needle: string) => {
      while (!text.includes(needle)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await until('event: hello');
    // The half-written line is completed: only now is step 2 sent.
    await writeFile(crashed, readFileSync(crashed, 'utf8') + 'sses":{"loss":400}}\n', 'utf8');
    await until('"step":2');
    controller.abort();
    const events = text.split('\n\n').filter((e) => e.startsWith('event: metric'));
    expect(events).toEqual(['event: metric\ndata: {"step":2,"losses":{"loss":400}}']);
  });

  it('is served by `paragen train --dashboard PORT` for the runs folder while the run trains', async () => {
    const data = join(root, 'mini');
    miniMnist(data, 256, 64);
    const out = join(runs, 'with-dashboard');
    const child = new Child(['train', '--model', 'vae-mlp', '--steps', '100000', '--dataset', data, '--out', out, '--dashboard', '0', ...TINY]);
    try {
      await expect.poll(() => /dashboard: (http:\/\/\S+)\n/.exec(child.stderr)?.[1], { timeout: 60_000 }).toBeDefined();
      const url = /dashboard: (http:\/\/\S+)\n/.exec(child.stderr)![1]!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/runs\/with-dashboard$/);
      const api = url.replace('/runs/', '/api/runs/');
      await expect.poll(async () => ((await (await fetch(api)).json()) as RunDetail).state).toBe('running');
      expect(((await (await fetch(api)).json()) as RunDetail).model).toBe('vae-mlp');
      child.process.kill('SIGTERM');
      expect((await child.exited).code).toBe(143);
      await expect(fetch(api)).rejects.toThrow();
    } finally {
      child.process.kill('SIGKILL');
    }
  }, 90_000);

  it('refuses a folder that is not there, with one line and exit code 2', async () => {
    const r = await paragen(['dashboard', '--runs', join(root, 'missing'), '--port', '0']);
    expect([r.code, r.stderr]).toEqual([2, `${join(root, 'missing')}: no such folder of runs\n`]);
  });
});
