import type { NatsConnection } from '@nats-io/transport-node';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/connect.js';
import { discoverWorkers, listWorkers, watchWorkers, type WorkerInfo } from '../../src/cluster/membership.js';
import { Child, paragen } from '../helpers/cli.js';
import { NATS_MISSING, natsServerAvailable, startNatsServer, type NatsServer } from '../helpers/nats.js';

const available = natsServerAvailable();
if (!available) console.warn(`skipping cluster membership tests: ${NATS_MISSING}`);

// Two accounts: workers and coordinator in APP, and a system account whose $SYS events report disconnects.
// The server itself declares a client stale after ping_interval × ping_max.
const CONFIG = `
accounts {
  SYS { users = [{ user: sys, password: syspass }] }
  APP { users = [{ user: app, password: apppass }] }
}
system_account: SYS
ping_interval: 1
ping_max: 2
`;

interface Registered {
  type: 'registered';
  name: string;
  host: string;
  port: number;
}

describe.skipIf(!available)('cluster membership with real worker processes', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let sys: NatsConnection;
  const children: Child[] = [];

  const startWorker = async (name: string): Promise<{ child: Child; registered: Registered }> => {
    const child = new Child(['worker', '--connect', server.url, '--name', name, '--nats-user', 'app', '--nats-password', 'apppass', '--json']);
    children.push(child);
    const registered = await child.waitForEvent<Registered & Record<string, unknown>>('registered');
    return { child, registered };
  };

  beforeAll(async () => {
    server = await startNatsServer({ config: CONFIG });
    nc = await connectCluster(server.url, { user: 'app', password: 'apppass' });
    sys = await connectCluster(server.url, { user: 'sys', password: 'syspass' });
  });
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL');
    await Promise.all([nc?.close(), sys?.close()]);
    await server?.stop();
  });

  it('discovers 3 workers with their metadata, detects SIGKILL, SIGSTOP and a drain', async () => {
    const started = await Promise.all(['w1', 'w2', 'w3'].map(startWorker));
    const workers = await discoverWorkers(nc, { count: 3, timeoutMs: 10_000 });
    expect(workers.map((w) => w.name)).toEqual(['w1', 'w2', 'w3']);
    for (const [i, w] of workers.entries()) {
      expect(w).toMatchObject({ host: '127.0.0.1', port: started[i]!.registered.port, backend: 'auto' });
      expect(w.cores).toBeGreaterThan(0);
      expect(w.version).toMatch(/^\d+\.\d+\.\d+/);
    }

    // A coordinator asking for more than there are: one line naming those found.
    const [p1, p2, p3] = workers.map((w) => w.port);
    await expect(discoverWorkers(nc, { count: 4, timeoutMs: 800 })).rejects.toThrow(
      `found 3 of 4 workers within 800 ms: w1 (127.0.0.1:${p1}), w2 (127.0.0.1:${p2}), w3 (127.0.0.1:${p3})`,
    );

    const byName = (name: string): WorkerInfo => workers.find((w) => w.name === name)!;
    // Fast path: $SYS disconnect events. Slow path (no system account): heartbeats alone.
    const fast = firstValueFrom(watchWorkers(nc, workers, { system: sys, heartbeatTimeoutMs: 60_000 }).pipe(take(2), toArray()));
    const slow = firstValueFrom(watchWorkers(nc, workers, { heartbeatTimeoutMs: 5000 }).pipe(take(3), toArray()));
    // The watchers' subscriptions must be in place at the server before anything happens.
    await Promise.all([nc.flush(), sys.flush()]);

    started[0]!.child.process.kill('SIGKILL');
    started[1]!.child.process.kill('SIGSTOP');
    const fastLosses = await fast;
    // A killed process's socket closes with a FIN (Client Closed), or with a RST (Read Error) when the
    // kernel still held unread bytes for it; the server names whichever it saw.
    expect(fastLosses[0]).toEqual({ worker: byName('w1'), cause: expect.stringMatching(/^disconnected from NATS \((Client Closed|Read Error)\)$/) });
    // The server declares the stopped one stale after ping_interval × ping_max.
    expect(fastLosses[1]).toEqual({ worker: byName('w2'), cause: 'disconnected from NATS (Stale Connection)' });

    started[2]!.child.process.kill('SIGTERM');
    expect(await started[2]!.child.exited).toEqual({ code: 0, signal: null });
    expect(started[2]!.child.lines.at(-1)).toBe(JSON.stringify({ type: 'drained', name: 'w3', signal: 'SIGTERM', deregistered: true }));

    const slowLosses = await slow;
    const causes = Object.fromEntries(slowLosses.map((l) => [l.worker.name, l.cause]));
    expect(causes).toEqual({ w1: 'no heartbeat for 5000 ms', w2: 'no heartbeat for 5000 ms', w3: 'left (drained)' });
    started[1]!.child.process.kill('SIGKILL');

    // Gone from discovery too.
    await expect(discoverWorkers(nc, { count: 1, timeoutMs: 300 })).rejects.toThrow('found 0 of 1 workers within 300 ms');
  });

  it('a watcher stalled past the timeout loses none of the workers that kept beating; one stopped after that is still lost', async () => {
    const { child } = await startWorker('w5');
    const worker = (await listWorkers(nc)).find((w) => w.name === 'w5')!;
    const losses: string[] = [];
    let lost!: (cause: string) => void;
    const firstLoss = new Promise<string>((resolve) => (lost = resolve));
    const watch = watchWorkers(nc, [worker], { heartbeatTimeoutMs: 2000 }).subscribe(({ cause }) => {
      losses.push(cause);
      lost(cause);
    });
    try {
      await nc.flush();
      // This process blocked for longer than the timeout while w5 went on beating (a long synchronous task).
      const until = Date.now() + 3500;
      while (Date.now() < until);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(losses).toEqual([]);
      child.process.kill('SIGSTOP');
      expect(await firstLoss).toBe('no heartbeat for 2000 ms');
    } finally {
      watch.unsubscribe();
      child.process.kill('SIGKILL');
    }
  }, 30_000);

  it('a wrong password is one line', async () => {
    await expect(connectCluster(server.url, { user: 'app', password: 'nope' })).rejects.toThrow(
      `cannot reach NATS at ${server.url}: authorization failed (check the user, password, token or creds file)`,
    );
  });
});

describe.skipIf(!available)('a worker whose NATS server has gone', () => {
  it('rides out the outage, and SIGTERM still ends it within seconds with one line, exit 0', async () => {
    const server = await startNatsServer();
    const child = new Child(['worker', '--connect', server.url, '--name', 'w8', '--json']);
    try {
      await child.waitForEvent('registered');
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(child.process.exitCode).toBe(null);
      const started = Date.now();
      child.process.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(child.lines.at(-1)).toBe(JSON.stringify({ type: 'drained', name: 'w8', signal: 'SIGTERM', deregistered: false }));
      expect(child.stderr).toBe(`NATS at ${server.url} did not answer within 3000 ms: closed without deregistering\n`);
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe('an unreachable NATS server', () => {
  it('connectCluster fails with one line', async () => {
    await expect(connectCluster('nats://127.0.0.1:1')).rejects.toThrow('cannot reach NATS at nats://127.0.0.1:1: connection refused');
    await expect(connectCluster('http://x')).rejects.toThrow("cluster must be a NATS URL like nats://HOST:4222, got 'http://x'");
  });

  it('paragen worker exits 1 with one line', async () => {
    const result = await paragen(['worker', '--connect', 'nats://127.0.0.1:1', '--name', 'w9']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('cannot reach NATS at nats://127.0.0.1:1: connection refused\n');
  });

  it('paragen worker validates its flags', async () => {
    const result = await paragen(['worker', '--connect', 'localhost:4222', '--advertise', 'nohost']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "--connect must be a NATS URL like nats://HOST:4222, got 'localhost:4222'\n--advertise must be HOST:PORT, got 'nohost'\n",
    );
  });
});
