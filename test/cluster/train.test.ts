/**
 * `paragen train --cluster` end to end: a real nats-server on 127.0.0.1,
 * real `paragen worker` processes, and the coordinator as the CLI. Cluster
 * `data` gives the losses of local `data`; a worker killed with SIGKILL
 * mid-run is replaced by the one waiting, and the run ends with the losses
 * of a run that lost nothing; a pipeline trains across two hosts; and a
 * server that cannot be reached, or too few workers, is one line.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Child, paragen } from '../helpers/cli.js';
import { NATS_MISSING, natsServerAvailable, startNatsServer, type NatsServer } from '../helpers/nats.js';

const available = natsServerAvailable();
if (!available) console.warn(`skipping train --cluster tests: ${NATS_MISSING}`);

interface StepLine {
  type: 'step';
  step: number;
  losses: Record<string, number>;
}

const vae = (workers = 2): string[] =>
  ['--model', 'vae-mlp', '--strategy', 'data', '--workers', String(workers), '--batch-size', '64', '--seed', '7', '--backend', 'wasm', '--sample-every', '0', '--json'];
const VAE = vae();

function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const steps = (stdout: string): StepLine[] => events(stdout).filter((e): e is StepLine & Record<string, unknown> => e['type'] === 'step');

/** max over steps and losses of |a − b| / |b|. */
function lossDifference(a: readonly StepLine[], b: readonly StepLine[]): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  a.forEach((s, i) => {
    for (const [name, value] of Object.entries(b[i]!.losses)) worst = Math.max(worst, Math.abs(s.losses[name]! - value) / Math.abs(value));
  });
  return worst;
}

describe.skipIf(!available)('train --cluster with real paragen workers', () => {
  let server: NatsServer;
  let dir: string;
  const workers = new Map<string, Child>();

  const startWorker = async (name: string): Promise<void> => {
    const child = new Child(['worker', '--connect', server.url, '--name', name, '--json']);
    workers.set(name, child);
    await child.waitForEvent('registered');
  };

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    dir = await mkdtemp(join(tmpdir(), 'paragen-cluster-train-'));
    // Outside any test, so that they outlive each (a Child made inside a test is killed at its end); w3 waits.
    await Promise.all(['w1', 'w2', 'w3'].map(startWorker));
  });
  afterAll(async () => {
    for (const child of workers.values()) child.process.kill('SIGKILL');
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('data on two workers gives the per-step losses of local data, and the start event names both hosts (by name, w1 and w2)', async () => {
    const local = await paragen(['train', ...VAE, '--steps', '20', '--out', 'local'], { cwd: dir });
    expect(local.code, local.stderr).toBe(0);
    const cluster = await paragen(['train', ...VAE, '--steps', '20', '--out', 'cluster', '--cluster', server.url], { cwd: dir });
    expect(cluster.code, cluster.stderr).toBe(0);
    expect(steps(cluster.stdout)).toHaveLength(20);
    expect(lossDifference(steps(cluster.stdout), steps(local.stdout))).toBeLessThanOrEqual(1e-4);
    const start = events(cluster.stdout).find((e) => e['type'] === 'start')!;
    expect(start['hosts']).toEqual([expect.stringMatching(/^w1 \(127\.0\.0\.1:\d+\)$/), expect.stringMatching(/^w2 \(127\.0\.0\.1:\d+\)$/)]);
    expect(start['config']).toMatchObject({ host: 'process', cluster: server.url });
    // Both workers were released: each logged its placement and its release; w3 was never placed.
    for (const name of ['w1', 'w2']) expect(workers.get(name)!.stderr).toMatch(/placed: run [0-9a-f]+\nreleased: run [0-9a-f]+\n/);
    expect(workers.get('w3')!.stderr).toBe('');
  }, 120_000);

  it('a worker killed with SIGKILL mid-run is replaced by the one waiting; the run ends with the losses of one that lost nothing', async () => {
    const args = ['train', ...VAE, '--steps', '50', '--snapshot-every', '10', '--cluster', server.url];
    const clean = await paragen([...args, '--out', 'clean'], { cwd: dir });
    expect(clean.code, clean.stderr).toBe(0);

    const run = new Child([...args, '--out', 'killed'], dir);
    await run.waitForEvent<StepLine & Record<string, unknown>>('step', (e) => e.step >= 25);
    workers.get('w1')!.process.kill('SIGKILL');
    const exit = await run.exited;
    expect(exit.code, run.stderr).toBe(0);
    const out = run.lines.join('\n');
    expect(steps(out).map((s) => s.step)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(lossDifference(steps(out), steps(clean.stdout))).toBeLessThanOrEqual(1e-4);
    const restarts = events(out).filter((e) => e['type'] === 'restart');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!['cause']).toMatch(/^worker 0 \(remote w1 \(127\.0\.0\.1:\d+\)\) lost: /);
    const notes = events(out).filter((e) => e['type'] === 'warning').map((e) => String(e['message']));
    expect(notes).toContainEqual(expect.stringMatching(/^cluster: worker 0: w3 \(127\.0\.0\.1:\d+\) replaces w1 \(127\.0\.0\.1:\d+\)$/));
  }, 180_000);

  it('dcgan-small trains as a pipeline across the two hosts left', async () => {
    const result = await paragen(
      ['train', '--model', 'dcgan-small', '--strategy', 'pipeline', '--workers', '2', '--batch-size', '16', '--steps', '4', '--sample-every', '0', '--json', '--out', 'pipe', '--cluster', server.url],
      { cwd: dir },
    );
    expect(result.code, `${result.stderr}\nw2: ${workers.get('w2')!.stderr}\nw3: ${workers.get('w3')!.stderr}`).toBe(0);
    const start = events(result.stdout).find((e) => e['type'] === 'start')!;
    expect(start['hosts']).toEqual([expect.stringMatching(/^w[23] /), expect.stringMatching(/^w[23] /)]);
    expect(start['placement']).toEqual({ dataLoader: 1, generator: 0, discriminator: 1 });
    expect(steps(result.stdout)).toHaveLength(4);
    for (const s of steps(result.stdout)) expect(Object.values(s.losses).every(Number.isFinite)).toBe(true);
  }, 120_000);

  it('too few idle workers: one line naming those found, within --cluster-wait, and no run directory', async () => {
    const result = await paragen(['train', ...vae(3), '--steps', '2', '--out', 'few', '--cluster', server.url, '--cluster-wait', '2'], {
      cwd: dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^found 2 of 3 workers within 2000 ms: w2 \(127\.0\.0\.1:\d+\), w3 \(127\.0\.0\.1:\d+\)\n$/);
    expect(existsSync(join(dir, 'few'))).toBe(false);
  }, 60_000);
});

describe('train --cluster refusals', () => {
  it('an unreachable server is one line within seconds, and no run directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'paragen-cluster-refuse-'));
    try {
      const started = Date.now();
      const result = await paragen(['train', '--model', 'vae-mlp', '--steps', '2', '--cluster', 'nats://127.0.0.1:1', '--out', 'x'], { cwd: dir });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('cannot reach NATS at nats://127.0.0.1:1: connection refused\n');
      expect(existsSync(join(dir, 'x'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('thread hosts and a malformed URL are usage errors', async () => {
    const result = await paragen(['train', '--model', 'vae-mlp', '--host', 'thread', '--cluster', 'nats://127.0.0.1:4222']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("--host must be 'process' (or unset) with --cluster: actors run in processes on the workers, got 'thread'\n");
    const bad = await paragen(['train', '--cluster', 'localhost:4222']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("--cluster must be a NATS URL like nats://HOST:4222, got 'localhost:4222'\n");
  });
});
