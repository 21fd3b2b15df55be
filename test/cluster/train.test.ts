/**
 * `paragen train --cluster` end to end: a real nats-server on 127.0.0.1,
 * real `paragen worker` processes, and the coordinator as the CLI. Cluster
 * `data` gives the losses of local `data`; a worker killed with SIGKILL
 * mid-run is replaced by the one waiting, and the run ends with the losses
 * of a run that lost nothing; a pipeline trains across two hosts; a server
 * that cannot be reached, or too few workers, is one line; and a worker
 * frozen with SIGSTOP is detected by its missed heartbeats and replaced.
 */
import { existsSync, readdirSync } from 'node:fs';
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

  it('a worker frozen with SIGSTOP mid-run is detected by its missed heartbeats and replaced; the run ends with every step', async () => {
    // w4 joins for this test only (a Child made inside a test is killed at its end).
    const w4 = new Child(['worker', '--connect', server.url, '--name', 'w4', '--json']);
    await w4.waitForEvent('registered');
    const run = new Child(['train', ...VAE, '--steps', '40', '--snapshot-every', '10', '--cluster', server.url, '--out', 'stopped'], dir);
    const start = await run.waitForEvent<Record<string, unknown>>('start');
    const frozen = String((start['hosts'] as string[])[0]).split(' ')[0]!;
    await run.waitForEvent<StepLine & Record<string, unknown>>('step', (e) => e.step >= 20);
    workers.get(frozen)!.process.kill('SIGSTOP');
    try {
      const exit = await run.exited;
      expect(exit.code, run.stderr).toBe(0);
    } finally {
      workers.get(frozen)!.process.kill('SIGCONT');
    }
    const out = run.lines.join('\n');
    expect(steps(out).map((s) => s.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const restarts = events(out).filter((e) => e['type'] === 'restart');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!['cause']).toMatch(new RegExp(`^worker 0 \\(remote ${frozen} \\(127\\.0\\.0\\.1:\\d+\\)\\) lost: no heartbeat for 3000 ms$`));
    const notes = events(out).filter((e) => e['type'] === 'warning').map((e) => String(e['message']));
    expect(notes).toContainEqual(expect.stringMatching(new RegExp(`^cluster: worker 0: w4 \\(127\\.0\\.0\\.1:\\d+\\) replaces ${frozen} `)));
  }, 180_000);
});

describe.skipIf(!available)('train --cluster with no worker to replace a lost one', () => {
  let server: NatsServer;
  let dir: string;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    dir = await mkdtemp(join(tmpdir(), 'paragen-cluster-shrink-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Two workers made inside the test, a 40-step run on them, and the first host SIGKILLed at step 20. */
  async function killOne(extra: string[], out: string): Promise<{ run: Child; exit: { code: number | null }; victim: string; survivor: string }> {
    const hosts = new Map<string, Child>();
    for (const name of [`a-${out}`, `b-${out}`]) {
      hosts.set(name, new Child(['worker', '--connect', server.url, '--name', name, '--json']));
      await hosts.get(name)!.waitForEvent('registered');
    }
    const run = new Child(['train', ...VAE, '--steps', '40', '--snapshot-every', '10', '--cluster', server.url, '--cluster-wait', '2', '--out', out, ...extra], dir);
    const start = await run.waitForEvent<Record<string, unknown>>('start');
    const [victim, survivor] = (start['hosts'] as string[]).map((h) => h.split(' ')[0]!) as [string, string];
    await run.waitForEvent<StepLine & Record<string, unknown>>('step', (e) => e.step >= 20);
    hosts.get(victim)!.process.kill('SIGKILL');
    return { run, exit: await run.exited, victim, survivor };
  }

  it('with --min-workers 1 the survivor hosts both ranks: every step, the losses of local data', async () => {
    const local = await paragen(['train', ...VAE, '--steps', '40', '--out', 'local'], { cwd: dir });
    const { run, exit, victim, survivor } = await killOne(['--min-workers', '1'], 'shrunk');
    expect(exit.code, run.stderr).toBe(0);
    const out = run.lines.join('\n');
    expect(steps(out).map((s) => s.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(lossDifference(steps(out), steps(local.stdout))).toBeLessThanOrEqual(1e-4);
    const notes = events(out).filter((e) => e['type'] === 'warning').map((e) => String(e['message']));
    expect(notes).toContainEqual(
      expect.stringMatching(
        new RegExp(`^cluster: worker 0: no idle worker replaced ${victim} \\(.+\\) within 2000 ms; ${survivor} \\(.+\\) hosts it too \\(1 of 2 machines, --min-workers 1\\)$`),
      ),
    );
  }, 180_000);

  it('without --min-workers the run ends with one line within --cluster-wait, its last snapshot saved as a checkpoint', async () => {
    const { run, exit, victim } = await killOne([], 'ended');
    expect(exit.code).toBe(1);
    // One line: the actor whose revival found no host, and why.
    expect(run.stderr).toMatch(new RegExp(`^actor \\w+ failed: worker 0: no idle worker to replace ${victim} \\(127\\.0\\.0\\.1:\\d+\\) within 2000 ms[^\\n]*\\n$`));
    // The last snapshot before the loss (step 20 or later) was written as a checkpoint.
    const saved = readdirSync(join(dir, 'ended', 'checkpoints')).map(Number);
    expect(Math.max(...saved)).toBeGreaterThanOrEqual(20);
  }, 180_000);

  it('--resume of that run continues on the cluster its config names, from its last checkpoint to the end', async () => {
    for (const name of ['r1', 'r2']) await new Child(['worker', '--connect', server.url, '--name', name, '--json']).waitForEvent('registered');
    const resumed = await paragen(['train', '--resume', 'ended', '--json'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const start = events(resumed.stdout).find((e) => e['type'] === 'start')!;
    expect(start['hosts']).toEqual([expect.stringMatching(/^r[12] /), expect.stringMatching(/^r[12] /)]);
    const done = steps(resumed.stdout).map((s) => s.step);
    expect(done[0]).toBeGreaterThanOrEqual(21);
    expect(done.at(-1)).toBe(40);
  }, 180_000);
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

  it('--min-workers needs --cluster and at most the run\'s workers', async () => {
    const alone = await paragen(['train', '--model', 'vae-mlp', '--min-workers', '1']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toBe('--min-workers must be only with --cluster (it is the machines a cluster run may shrink to), got 1\n');
    const many = await paragen(['train', '--model', 'vae-mlp', '--strategy', 'data', '--workers', '2', '--min-workers', '3', '--cluster', 'nats://127.0.0.1:4222']);
    expect(many.code).toBe(2);
    expect(many.stderr).toBe("--min-workers must be at most the run's 2 workers, got 3\n");
  });
});
