/**
 * The dashboard in a real browser: Debian's Chromium driven by
 * playwright-core (no browser download), against a real dashboard on
 * 127.0.0.1 and runs the trainer really wrote. Screenshots are kept in
 * test-artifacts/ (git-ignored). Without /usr/bin/chromium (`apt-get install
 * chromium`; .ci/run installs it) these tests skip, saying so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { startDashboard, type Dashboard } from '../../src/serve/dashboard.js';
import { Child, root as repo } from '../helpers/cli.js';
import { miniMnist } from '../eval/fixtures.js';
import { TINY, trainTinyRun } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const ARTIFACTS = join(repo, 'test-artifacts');

let root: string;
let runs: string;
let dashboard: Dashboard;
let context: BrowserContext;

/** A page that records its console errors and uncaught exceptions. */
async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${dashboard.url}${path}`);
  return { page, errors };
}

describe.skipIf(!hasChromium)('paragen dashboard in Chromium', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paragen-dashboard-browser-'));
    runs = join(root, 'runs');
    await mkdir(runs);
    await trainTinyRun(runs, 'dcgan-small-tiny', 'dcgan-small', 6, ['--sample-every', '2']);
    await mkdir(join(runs, 'bench'));
    await writeFile(join(runs, 'bench', 'bench.json'), JSON.stringify(BENCH));
    dashboard = await startDashboard({ runs, host: '127.0.0.1', port: 0, pollMs: 100 });
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'paragen-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1300, height: 1100 },
    });
    await mkdir(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await dashboard?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('lists the runs with their state and losses, with no console errors', async () => {
    const { page, errors } = await open('/');
    const row = page.locator('tr[data-run="dcgan-small-tiny"]');
    await row.waitFor();
    const text = await row.innerText();
    for (const part of ['dcgan-small-tiny', 'dcgan-small', 'single × 1', 'wasm', '6 / 6', 'done', 'discriminator', 'generator']) {
      expect(text).toContain(part);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-runs.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows a run's name and a chart with a point per metrics line, and the grid history", async () => {
    const { page, errors } = await open('/runs/dcgan-small-tiny');
    const lines = readFileSync(join(runs, 'dcgan-small-tiny', 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    await page.waitForSelector('body[data-live="true"]');
    expect(await page.locator('h1').innerText()).toBe('dcgan-small-tiny');
    expect(await page.locator('#loss-chart').getAttribute('data-points')).toBe(String(lines));
    expect(await page.locator('#time-chart').getAttribute('data-points')).toBe(String(lines));
    // uPlot drew into a canvas, with a legend entry per loss.
    expect(await page.locator('#loss-chart canvas').count()).toBe(1);
    expect(await page.locator('#loss-chart .u-legend').innerText()).toMatch(/discriminator[\s\S]*generator/);
    expect(await page.locator('#sample-step').innerText()).toBe('at step 6 (3 of 3)');
    await page.locator('#sample-slider').fill('0');
    expect(await page.locator('#sample-step').innerText()).toBe('at step 2 (1 of 3)');
    expect(await page.locator('#sample-img').getAttribute('src')).toBe('/runs/dcgan-small-tiny/samples/2.png');
    await page.waitForFunction("document.querySelector('#sample-img').naturalWidth > 0");
    expect(await page.locator('#timeline').innerText()).toContain('checkpoint');
    expect(await page.locator('#placement').innerText()).toBe('single strategy on 1 worker(s); dataLoader → worker 0, generator → worker 0, discriminator → worker 0');
    expect(await page.locator('#config').innerText()).toContain('"model": "dcgan-small"');
    await page.locator('#sample-slider').fill('2');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-run.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('adds points while a run trains', async () => {
    const data = join(root, 'mini-mnist');
    miniMnist(data, 256, 64);
    const out = join(runs, 'live');
    const child = new Child(['train', '--model', 'dcgan-small', '--steps', '400', '--dataset', data, '--out', out, '--sample-every', '0', ...TINY]);
    try {
      await child.waitForEvent('step', (e) => (e['step'] as number) >= 2);
      const { page, errors } = await open('/runs/live');
      await page.waitForSelector('body[data-live="true"]');
      const points = async () => Number(await page.locator('#loss-chart').getAttribute('data-points'));
      const first = await points();
      expect(await page.locator('#state').innerText()).toBe('running');
      await page.waitForFunction(`Number(document.querySelector('#loss-chart').dataset.points) >= ${first + 3}`, undefined, { timeout: 60_000 });
      expect(await points()).toBeGreaterThanOrEqual(first + 3);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });
      child.process.kill('SIGTERM');
      await child.exited;
      // The run stopped (SIGTERM writes a checkpoint and a summary): the page says so without a reload.
      await page.waitForFunction("document.querySelector('#state').textContent === 'stopped'", undefined, { timeout: 30_000 });
      const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
      await page.waitForFunction(`document.querySelector('#loss-chart').dataset.points === '${lines}'`);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      child.process.kill('SIGKILL');
    }
  }, 120_000);

  it('is what `paragen dashboard --runs DIR --port 0` serves: the run\'s name and a chart, and SIGTERM exits 0', async () => {
    const child = new Child(['dashboard', '--runs', runs, '--port', '0']);
    try {
      await expect.poll(() => /at (http:\/\/\S+)\n/.exec(child.stderr)?.[1], { timeout: 30_000 }).toBeDefined();
      const url = /at (http:\/\/\S+)\n/.exec(child.stderr)![1]!;
      const page = await context.newPage();
      await page.goto(`${url}/runs/dcgan-small-tiny`);
      await page.waitForSelector('body[data-live="true"]');
      expect(await page.locator('h1').innerText()).toBe('dcgan-small-tiny');
      expect(await page.locator('#loss-chart canvas').count()).toBe(1);
      await page.close();
      child.process.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: 0, signal: null });
    } finally {
      child.process.kill('SIGKILL');
    }
  }, 120_000);

  it('charts bench.json on the bench page', async () => {
    const { page, errors } = await open('/bench');
    const card = page.locator('.bench[data-bench="bench"]');
    await card.waitFor();
    expect(await card.locator('svg rect.bar').count()).toBe(2);
    expect(await card.locator('svg').innerHTML()).toContain('vae-mlp: samples/s by strategy and worker count');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-bench.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

/** A bench.json as `paragen bench` writes it: two rows, one model. */
const BENCH = {
  format: 'paragen-bench',
  date: '2026-12-01T06:00:00.000Z',
  settings: { quick: true, models: ['vae-mlp'], strategies: ['single', 'data'], workerCounts: [1, 2], seed: 0, backend: 'auto' },
  machine: { cpus: 2, cpuModel: 'Test CPU', platform: 'linux x64', node: 'v20.0.0', tfjs: '4.22.0' },
  backend: { name: 'wasm', reason: 'wasm with SIMD' },
  peak: [],
  flops: [],
  rows: [1, 2].map((workers) => ({
    model: 'vae-mlp',
    strategy: workers === 1 ? 'single' : 'data',
    backend: 'wasm',
    workers,
    batchSize: 128,
    status: 'ok',
    samplesPerSec: 1000 * workers,
    bound: null,
    windows: [],
    steps: 10,
    warmupSteps: 3,
    gflops: null,
    utilization: null,
    modelUtilization: null,
    speedup: null,
    bubble: null,
    otherCpu: null,
    note: '',
    seconds: 1,
  })),
  scaling: [],
  skipped: [],
  budget: { warmupSeconds: 1, windowSeconds: 1, windows: 3 },
  wallSeconds: 10,
};
