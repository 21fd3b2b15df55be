/**
 * The actor runtime on real worker threads and real child processes, with
 * the probe actor: typed calls, transfer, ordering, events, errors, deaths
 * (exit, uncaught error, memory limit), revival and shutdown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { paragenSystem, type ActorKinds, type ParagenSystem } from '../../actors/catalog.js';
import { ActorDied, transfer, type HostKind, type SystemOptions } from '../../src/actor/index.js';
import { ParagenError } from '../../src/errors.js';

const systems: ParagenSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

function system(host: HostKind, workers = 1, options: Partial<SystemOptions<ActorKinds>> = {}): ParagenSystem {
  const s = paragenSystem({ host, workers, ...options });
  systems.push(s);
  return s;
}

/** What a promise rejected with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe.each(['thread', 'process'] as const)('on %s hosts', (host) => {
  it('places actors on the workers asked for and answers typed calls there', async () => {
    const s = system(host, 2);
    const a = await s.spawn('a', 'probe', { label: 'first' }, { worker: 0 });
    const b = await s.spawn('b', 'probe', { label: 'second' }, { worker: 1 });
    expect(s.placement).toEqual({ a: 0, b: 1 });
    const [ia, ib] = await Promise.all([a.call('info'), b.call('info')]);
    expect(ia).toMatchObject({ label: 'first', name: 'a', worker: 0 });
    expect(ib).toMatchObject({ label: 'second', name: 'b', worker: 1 });
    if (host === 'thread') {
      expect(ia.pid).toBe(process.pid);
      expect(ia.threadId).not.toBe(ib.threadId);
    } else {
      expect(new Set([ia.pid, ib.pid, process.pid]).size).toBe(3);
    }
    await expect(a.call('ping')).resolves.toBeUndefined();
  });

  it.runIf(host === 'process')('gives each process the environment made for its worker', async () => {
    const s = system(host, 2, { env: (worker) => ({ CUDA_VISIBLE_DEVICES: String(worker + 3) }) });
    const a = await s.spawn('a', 'probe', { label: 'a' }, { worker: 0 });
    const b = await s.spawn('b', 'probe', { label: 'b' }, { worker: 1 });
    const [ia, ib] = await Promise.all([a.call('info'), b.call('info')]);
    expect([ia.cudaVisibleDevices, ib.cudaVisibleDevices]).toEqual(['3', '4']);
  });

  it('moves a Float32Array to the actor and back', async () => {
    const s = system(host);
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0 });
    const data = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    const expected = data.slice();
    const reply = await probe.call('echo', transfer({ data }, [data]));
    expect(reply.data).toEqual(expected);
    // A thread host moves the buffer (the sender's view is detached); IPC copies it.
    expect(data.length).toBe(host === 'thread' ? 0 : 1000);
  });

  it('runs one request at a time, in the order sent, and answers in that order', async () => {
    const s = system(host);
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0 });
    const answered: number[] = [];
    // Odd requests wait three event-loop turns inside the actor: without a mailbox, even ones would overtake them.
    const calls = Array.from({ length: 30 }, (_, seq) =>
      probe.call('record', { seq, turns: seq % 2 === 1 ? 3 : 0 }).then((length) => answered.push(length)),
    );
    await Promise.all(calls);
    expect(await probe.call('log')).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(answered).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it("delivers an actor's events, in order, before its reply, on its own stream and on the system's", async () => {
    const s = system(host, 2);
    const merged: unknown[] = [];
    s.events$.subscribe((e) => merged.push(e));
    const a = await s.spawn('a', 'probe', { label: 'a' }, { worker: 0 });
    const b = await s.spawn('b', 'probe', { label: 'b' }, { worker: 1 });
    const own: unknown[] = [];
    a.events$.subscribe((e) => own.push(e));
    await a.call('emit', { count: 3 });
    await b.call('emit', { count: 1 });
    expect(own).toEqual([0, 1, 2].map((seq) => ({ type: 'tick', seq })));
    expect(merged).toEqual([
      ...[0, 1, 2].map((seq) => ({ actor: 'a', kind: 'probe', worker: 0, event: { type: 'tick', seq } })),
      { actor: 'b', kind: 'probe', worker: 1, event: { type: 'tick', seq: 0 } },
    ]);
  });

  it("rejects with the actor's own ParagenError, code and exit code included", async () => {
    const s = system(host);
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0 });
    const error = await rejection(probe.call('fail', { field: 'lr' }));
    expect(error).toBeInstanceOf(ParagenError);
    expect(error).toMatchObject({ code: 'INVALID_VALUE', exitCode: 2, message: "lr must be what the probe expects, got 'something else'" });
    // The actor survives its own error.
    await expect(probe.call('ping')).resolves.toBeUndefined();
  });

  it('refuses to build an unknown kind, a duplicate name or a worker out of range', async () => {
    const s = system(host);
    await expect(s.spawn('x', 'nope' as 'probe', { label: 'x' }, { worker: 0 })).rejects.toThrow(
      "actor kind must be one of 'probe', 'dataLoader', 'generator', 'discriminator', 'encoder', 'decoder', got 'nope'",
    );
    await s.spawn('p', 'probe', { label: 'p' }, { worker: 0 });
    await expect(s.spawn('p', 'probe', { label: 'p' }, { worker: 0 })).rejects.toThrow("actor name must be unique in its system, got 'p'");
    await expect(s.spawn('q', 'probe', { label: 'q' }, { worker: 1 })).rejects.toThrow('worker of actor q must be an integer in [0, 1), got 1');
  });

  it('names the actor whose worker exited at its planned step, and every actor of that worker dies with it', async () => {
    const s = system(host, 2);
    const victim = await s.spawn('victim', 'probe', { label: 'v' }, { worker: 0, fault: { kind: 'crash', step: 2 } });
    const neighbour = await s.spawn('neighbour', 'probe', { label: 'n' }, { worker: 0 });
    const other = await s.spawn('other', 'probe', { label: 'o' }, { worker: 1 });
    expect(await victim.call('step', { step: 1 })).toBe(1);
    const died = await rejection(victim.call('step', { step: 2 }));
    const cause = host === 'thread' ? 'worker 0 exited with code 1' : 'worker 0 (process) exited with code 1';
    expect(died).toBeInstanceOf(ActorDied);
    expect((died as ActorDied).death).toEqual({ worker: 0, actor: 'victim', cause });
    expect(s.isDead(0)).toBe(true);
    await expect(neighbour.call('ping')).rejects.toMatchObject({ death: { worker: 0, actor: 'victim', cause } });
    await expect(other.call('ping')).resolves.toBeUndefined();
    expect(s.isDead(1)).toBe(false);

    await s.revive(0);
    // Fresh actors on a fresh worker, same names and refs; the fault fired once and is gone.
    expect(await victim.call('step', { step: 2 })).toBe(2);
    expect(await neighbour.call('info')).toMatchObject({ name: 'neighbour', worker: 0 });
    expect(s.placement).toEqual({ victim: 0, neighbour: 0, other: 1 });
  });

  it('reports an uncaught error as the cause of death', async () => {
    const s = system(host);
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0, fault: { kind: 'throw', step: 1 } });
    const died = (await rejection(probe.call('step', { step: 1 }))) as ActorDied;
    expect(died.death.actor).toBe('p');
    expect(died.death.cause).toBe(
      host === 'thread'
        ? 'worker 0 died of an uncaught Error: injected fault: actor p threw at step 1'
        : 'worker 0 (process) exited with code 1 after an uncaught Error: injected fault: actor p threw at step 1',
    );
  });

  it('stops every actor on close; later calls are refused', async () => {
    const s = system(host);
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0 });
    const { pid } = await probe.call('info');
    let completed = false;
    probe.events$.subscribe({ complete: () => (completed = true) });
    await s.close();
    expect(completed).toBe(true);
    await expect(probe.call('ping')).rejects.toThrow('actor p is stopped');
    await expect(s.spawn('q', 'probe', { label: 'q' }, { worker: 0 })).rejects.toThrow('actor q is stopped');
    if (host === 'process') expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});

describe('thread hosts', () => {
  it('restart a thread that went over its memory limit', async () => {
    const s = system('thread', 1, { resourceLimits: { maxOldGenerationSizeMb: 24 } });
    const probe = await s.spawn('p', 'probe', { label: 'p' }, { worker: 0, fault: { kind: 'oom', step: 1 } });
    const died = (await rejection(probe.call('step', { step: 1 }))) as ActorDied;
    expect(died.death.actor).toBe('p');
    expect(died.death.cause).toMatch(/^worker 0 ran out of memory \(.*memory limit.*\)$/);
    await s.revive(0);
    await expect(probe.call('step', { step: 1 })).resolves.toBe(1);
  });
});
