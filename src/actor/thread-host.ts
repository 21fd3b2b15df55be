/**
 * Thread hosts on piscina. Each worker slot is a piscina pool of exactly one
 * thread, and each actor a long-running task on it (see thread-entry.ts).
 *
 * Why a pool per worker rather than one pool of N threads: placement must be
 * exact and stable — "worker 1" is the same thread for the whole run, and
 * after a crash its replacement. One shared pool decides itself which thread
 * runs a task (its balancer sees only ready threads, identified by thread ids
 * that change on replacement). A one-thread pool keeps piscina in charge of
 * what it is good at — starting the thread, its resource limits, replacing
 * it when it dies, terminating it — while the slot number is the placement.
 */
import { MessageChannel, type ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { workerEntry } from './entry.js';
import { openActorLink, threadCause, type ActorLink, type Death, type Host, type WorkerSlot } from './host.js';
import type { SpawnRequest } from './protocol.js';
import type { ThreadTask } from './thread-entry.js';
import { portLink } from './wire.js';

export interface ThreadSlotOptions {
  /** Limits of the slot's thread; a thread over them dies, and its actors are restarted. */
  readonly resourceLimits?: ResourceLimits;
}

/** Actors and stateless tasks share the thread: an actor's task is idle between requests. */
const TASKS_PER_THREAD = 64;

export class ThreadSlot implements WorkerSlot {
  readonly kind = 'thread' as const;
  readonly worker: number;
  readonly #pool: Piscina<ThreadTask, void>;
  #current: ThreadHost;

  constructor(worker: number, options: ThreadSlotOptions = {}) {
    this.worker = worker;
    this.#pool = new Piscina<ThreadTask, void>({
      filename: workerEntry(import.meta.url, './thread-entry.js'),
      name: 'runActor',
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      // 'sync' makes an idle thread block in Atomics.wait for its next task,
      // which would starve the actors' MessagePorts on that thread.
      atomics: 'disabled',
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      closeTimeout: 1000,
    });
    // A thread that dies without a task in flight makes piscina emit 'error'; the
    // host hears of the death through its tasks, and an unheard 'error' would throw.
    this.#pool.on('error', (error: unknown) => this.#current.fail(error));
    this.#current = new ThreadHost(worker, this.#pool);
  }

  get current(): Host {
    return this.#current;
  }

  revive(): Host {
    // piscina has already started a replacement thread (minThreads: 1).
    this.#current = new ThreadHost(this.worker, this.#pool);
    return this.#current;
  }

  async close(): Promise<void> {
    await this.#current.close();
    await this.#pool.destroy();
  }
}

class ThreadHost implements Host {
  readonly kind = 'thread' as const;
  readonly worker: number;
  readonly died: Promise<Death>;
  readonly #pool: Piscina<ThreadTask, void>;
  /** index + 1 of the actor that last began a request; written by the thread. */
  readonly #marker = new Int32Array(new SharedArrayBuffer(4));
  readonly #names: string[] = [];
  readonly #links = new Set<ActorLink>();
  #dead = false;
  #closing = false;
  #resolveDeath!: (death: Death) => void;

  constructor(worker: number, pool: Piscina<ThreadTask, void>) {
    this.worker = worker;
    this.#pool = pool;
    this.died = new Promise((resolve) => (this.#resolveDeath = resolve));
  }

  get dead(): boolean {
    return this.#dead;
  }

  async spawn(request: SpawnRequest): Promise<ActorLink> {
    if (this.#dead || this.#closing) throw new Error(`worker ${this.worker} is ${this.#dead ? 'dead' : 'closing'}`);
    this.#names[request.index] = request.name;
    const { port1, port2 } = new MessageChannel();
    const opened = openActorLink(portLink(port1), this.died, () => this.#links.delete(actorLink!));
    let actorLink: ActorLink | undefined;
    this.#pool
      .run({ port: port2, request, marker: this.#marker }, { transferList: [port2] })
      .then(
        () => undefined,
        (error: unknown) => this.fail(error),
      );
    actorLink = await opened.ready;
    this.#links.add(actorLink);
    return actorLink;
  }

  /** The thread died (piscina rejected a task, or reported an error): every actor on it is gone. */
  fail(error: unknown): void {
    if (this.#dead || this.#closing) return;
    this.#dead = true;
    const index = Atomics.load(this.#marker, 0) - 1;
    const actor = this.#names[index];
    this.#resolveDeath({ worker: this.worker, ...(actor ? { actor } : {}), cause: threadCause(this.worker, error) });
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const links = [...this.#links];
    if (this.#dead) links.forEach((l) => l.close());
    else await Promise.all(links.map((l) => l.stop()));
  }
}
