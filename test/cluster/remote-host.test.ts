/**
 * The remote host prototype: an ActorSystem whose workers are process hosts
 * reached over TCP (a real socket on 127.0.0.1, a real child process forked
 * by the serving side), running the probe actor.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { newRunToken } from '../../src/actor/collective/tcp-mesh.js';
import { paragenSystem, type ParagenSystem } from '../../actors/catalog.js';
import { ActorDied } from '../../src/actor/index.js';
import { RemoteSlot, serveRemoteHosts } from '../../src/cluster/remote-host.js';
import { stopUnderProbe } from '../helpers/stopped.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serving(token: string | undefined, log: string[] = []): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = serveRemoteHosts(server, { token: () => token, log: (line) => log.push(line) });
  cleanups.push(async () => {
    stop();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function remoteSystem(port: number, token: string, workers = 1): ParagenSystem {
  const system = paragenSystem({ host: 'process', workers, slot: (w) => new RemoteSlot(w, { host: '127.0.0.1', port }, token) });
  cleanups.push(() => system.close());
  return system;
}

describe('remote hosts (prototype)', () => {
  it('spawn actors in processes the serving side forks, and answer typed calls with tensors', async () => {
    const token = newRunToken();
    const { port } = await serving(token);
    const s = remoteSystem(port, token, 2);
    const a = await s.spawn('a', 'probe', { label: 'first' }, { worker: 0 });
    const b = await s.spawn('b', 'probe', { label: 'second' }, { worker: 1 });
    const [ia, ib] = await Promise.all([a.call('info'), b.call('info')]);
    expect(ia).toMatchObject({ label: 'first', worker: 0 });
    expect(new Set([ia.pid, ib.pid, process.pid]).size).toBe(3);
    const data = Float32Array.from({ length: 100_000 }, (_, i) => i / 7);
    expect((await a.call('echo', { data })).data).toEqual(data);
  });

  it('a worker killed under an actor is a death with its cause', async () => {
    const token = newRunToken();
    const { port } = await serving(token);
    const s = remoteSystem(port, token);
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0 });
    const { pid } = await probe.call('info');
    process.kill(pid, 'SIGKILL');
    const error = await probe.call('ping').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActorDied);
    expect((error as ActorDied).death.cause).toBe(`worker 0 (remote 127.0.0.1:${port}) was killed by SIGKILL`);
  });

  it("an uncaught error in the remote child is a death naming the actor and the error, as a local process host's", async () => {
    const token = newRunToken();
    const { port } = await serving(token);
    const s = remoteSystem(port, token);
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0, fault: { kind: 'throw', step: 1 } });
    const error = await probe.call('step', { step: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActorDied);
    expect((error as ActorDied).death.actor).toBe('p');
    expect((error as ActorDied).death.cause).toBe(
      `worker 0 (remote 127.0.0.1:${port}) exited with code 1 after an uncaught Error: injected fault: actor p threw at step 1`,
    );
  });

  it('a host process stopped under an actor is killed by the serving side, and the death says so', async () => {
    const token = newRunToken();
    const log: string[] = [];
    const { port } = await serving(token, log);
    const { error, ms, pid } = await stopUnderProbe(remoteSystem(port, token));
    expect(error).toBeInstanceOf(ActorDied);
    expect((error as ActorDied).death.cause).toBe(
      `worker 0 (remote 127.0.0.1:${port}) lost: its host process was stopped (SIGSTOP or a freeze) for 3000 ms, and killed`,
    );
    expect(ms).toBeLessThan(6000);
    expect(log.some((line) => line.startsWith(`host process ${pid} for 127.0.0.1:`) && line.endsWith('was stopped for 3000 ms: killed'))).toBe(true);
  });

  it('refuses and logs a caller with the wrong token', async () => {
    const log: string[] = [];
    const { port } = await serving(newRunToken(), log);
    const s = remoteSystem(port, newRunToken());
    const error = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as ActorDied).death.cause).toBe(`worker 0 (remote 127.0.0.1:${port}) refused the connection: wrong token`);
    expect(log.some((line) => /^host connection from 127\.0\.0\.1:\d+ refused: wrong token$/.test(line))).toBe(true);
  });

  it('a host lost while its worker is still being found never connects once it is found (a stray socket would keep the coordinator alive)', async () => {
    const token = newRunToken();
    const { server, port } = await serving(token);
    let found!: (target: { address: { host: string; port: number }; label: string }) => void;
    const slot = new RemoteSlot(0, () => new Promise((resolve) => (found = resolve)), token);
    slot.lose('(remote w1) lost: no heartbeat for 3000 ms');
    expect(await slot.current.died).toEqual({ worker: 0, cause: 'worker 0 (remote w1) lost: no heartbeat for 3000 ms' });
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = sockets();
    found({ address: { host: '127.0.0.1', port }, label: 'w1' });
    await new Promise((resolve) => setImmediate(resolve));
    // socket.connect() would have made its handle at once.
    expect(sockets()).toBe(before);
    const connections = await new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    expect(connections).toBe(0);
    await slot.close();
  });
});
