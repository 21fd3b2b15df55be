/**
 * `ActorSystem`: spawns actors onto workers (thread or process hosts), knows
 * which worker holds which actor, merges their event streams into one,
 * revives a dead worker with its actors, and owns shutdown.
 *
 * It restarts nothing on its own: what to restore after a death, and whether
 * the restart budget allows it, is the supervisor's decision (the engine).
 *
 * The kinds it can spawn come from the application's catalog (`actors/catalog.ts`
 * for paragen's): the runtime itself names none.
 *
 * @example
 * const system = new ActorSystem({ host: 'thread', workers: 1, catalog: CATALOG });
 * const probe = await system.spawn('probe', 'probe', { label: 'p' }, { worker: 0 });
 * await probe.call('ping');
 * await system.close();
 */
import type { ResourceLimits } from 'node:worker_threads';
import { ReplaySubject, map, mergeMap, type Observable } from 'rxjs';
import { errors } from '../errors.js';
import { workerEntry } from './entry.js';
import { ActorDied, type Death, type HostKind, type WorkerSlot } from './host.js';
import { ProcessSlot } from './process-host.js';
import type { ActorCatalog, ActorKindSpec, FaultPlan, SpawnRequest } from './protocol.js';
import { ActorRef } from './ref.js';
import { ThreadSlot } from './thread-host.js';

/** Kinds by name, as a catalog describes them. */
export type KindMap = { readonly [name: string]: ActorKindSpec };

export interface SystemOptions<K extends KindMap = KindMap> {
  readonly host: HostKind;
  /** The kinds this system can spawn, and where their definitions are. */
  readonly catalog: ActorCatalog<K>;
  /** Worker threads or processes, ids 0 … workers-1. */
  readonly workers: number;
  /** Thread hosts: limits of each thread (a thread over them dies and can be revived). */
  readonly resourceLimits?: ResourceLimits;
  /** Process hosts: Node flags of each child. */
  readonly execArgv?: readonly string[];
  /** Process hosts: added to each child's environment; a function gives each worker its own (e.g. its GPU). */
  readonly env?: Readonly<Record<string, string>> | ((worker: number) => Readonly<Record<string, string>>);
  readonly slot?: SlotFactory;
}

/** Builds each worker's slot instead of `host`'s kind (a remote host's: `src/cluster/remote-host.ts`). */
export type SlotFactory = (worker: number) => WorkerSlot;

export interface SpawnOptions {
  readonly worker: number;
  /** A fault for this actor's first incarnation only (testing). */
  readonly fault?: FaultPlan;
}

/** One actor's event, labelled with where it came from. */
export interface ActorEnvelope {
  readonly actor: string;
  readonly kind: string;
  readonly worker: number;
  readonly event: unknown;
}

interface Entry {
  readonly request: SpawnRequest;
  readonly ref: ActorRef<unknown, unknown>;
}

export class ActorSystem<K extends KindMap = KindMap> {
  readonly host: HostKind;
  readonly workers: number;
  /** Every actor's events, merged (RxJS `mergeMap` over the actors as they are spawned). */
  readonly events$: Observable<ActorEnvelope>;
  readonly #catalog: ActorCatalog<K>;
  readonly #slots: WorkerSlot[] = [];
  readonly #entries = new Map<string, Entry>();
  readonly #refs$ = new ReplaySubject<ActorRef<unknown, unknown>>();
  readonly #deaths = new WeakMap<object, Promise<Death>>();
  /** Per worker, the last build queued: actors of one worker are built one after another, in spawn order. */
  readonly #builds = new Map<number, Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(options: SystemOptions<K>) {
    if (options.host !== 'thread' && options.host !== 'process') {
      throw errors.invalidValue('host', "'thread' or 'process'", options.host);
    }
    if (!Number.isSafeInteger(options.workers) || options.workers < 1) {
      throw errors.invalidValue('workers', 'a positive integer', options.workers);
    }
    this.host = options.host;
    this.workers = options.workers;
    this.#catalog = options.catalog;
    try {
      for (let w = 0; w < options.workers; w++) {
        this.#slots.push(
          options.slot
            ? options.slot(w)
            : options.host === 'thread'
            ? new ThreadSlot(w, options.resourceLimits ? { resourceLimits: options.resourceLimits } : {})
            : new ProcessSlot(w, { ...(options.execArgv ? { execArgv: options.execArgv } : {}), ...envOf(options.env, w) }),
        );
      }
    } catch (error) {
      void Promise.all(this.#slots.map((s) => s.close()));
      throw error;
    }
    this.events$ = this.#refs$.pipe(
      mergeMap((ref) => ref.events$.pipe(map((event) => ({ actor: ref.name, kind: ref.kind, worker: ref.worker, event })))),
    );
  }

  /** Which worker holds each actor. */
  get placement(): Readonly<Record<string, number>> {
    return Object.fromEntries([...this.#entries].map(([name, e]) => [name, e.request.worker]));
  }

  /**
   * Builds actor `name` of `kind` on `options.worker`. Rejects with the
   * actor's own error when it cannot be built, or `ActorDied` when its worker
   * dies first.
   */
  async spawn<N extends keyof K & string>(
    name: string,
    kind: N,
    init: K[N]['init'],
    options: SpawnOptions,
  ): Promise<ActorRef<K[N]['protocol'], K[N]['event']>> {
    if (this.#closing) throw errors.actorStopped(name);
    const definition = this.#definition(kind);
    if (this.#entries.has(name)) throw errors.invalidValue('actor name', 'unique in its system', name);
    const { worker } = options;
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.workers) {
      throw errors.invalidValue(`worker of actor ${name}`, `an integer in [0, ${this.workers})`, worker);
    }
    const index = [...this.#entries.values()].filter((e) => e.request.worker === worker).length;
    const request: SpawnRequest = { name, kind, definition, init, worker, index, ...(options.fault ? { fault: options.fault } : {}) };
    const ref = new ActorRef<K[N]['protocol'], K[N]['event']>(name, kind, worker);
    const entry: Entry = { request, ref: ref as ActorRef<unknown, unknown> };
    this.#entries.set(name, entry);
    // Announced before it starts, so that the merged stream hears its first events.
    this.#refs$.next(entry.ref);
    try {
      await this.#start(entry, request);
    } catch (error) {
      this.#entries.delete(name);
      await ref.stop();
      throw error;
    }
    return ref;
  }

  /** Whether worker `worker`'s current host has died. */
  isDead(worker: number): boolean {
    return this.#slot(worker).current.dead;
  }

  /**
   * A fresh host for dead worker `worker`, with every actor it held rebuilt
   * from its original init — without its planned fault, which fires once.
   * Their state is the freshly built one: restoring it is the caller's job.
   */
  async revive(worker: number): Promise<void> {
    const slot = this.#slot(worker);
    const entries = [...this.#entries.values()].filter((e) => e.request.worker === worker);
    for (const e of entries) e.ref.detach();
    await slot.current.close();
    slot.revive();
    await Promise.all(
      entries.map((e) => {
        const { fault: _fault, ...request } = e.request;
        return this.#start(e, request);
      }),
    );
  }

  /** Stops every actor (after the requests already sent to it), then ends every thread and process. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#entries.values()].map((e) => e.ref.stop()));
      await Promise.all(this.#slots.map((s) => s.close()));
      this.#refs$.complete();
    })();
    return this.#closing;
  }

  /**
   * Builds `request` on its worker's current host once the worker's earlier
   * builds are done: the same spawn order gives the same build order, and so
   * the same TensorFlow.js layer names, on every run and every revival.
   */
  #start(entry: Entry, request: SpawnRequest): Promise<void> {
    const previous = this.#builds.get(request.worker) ?? Promise.resolve();
    const build = previous.then(
      () => this.#build(entry, request),
      () => this.#build(entry, request),
    );
    this.#builds.set(request.worker, build);
    return build;
  }

  async #build(entry: Entry, request: SpawnRequest): Promise<void> {
    const host = this.#slot(request.worker).current;
    const death = this.#deathOf(request.worker);
    try {
      entry.ref.attach(await host.spawn(request), death);
    } catch (error) {
      if (error instanceof ActorDied || host.dead) throw new ActorDied(await death);
      throw error;
    }
  }

  /** The current host's death, with the culprit named: the host's own record, else the actor with a request in flight. */
  #deathOf(worker: number): Promise<Death> {
    const host = this.#slot(worker).current;
    let death = this.#deaths.get(host);
    if (!death) {
      death = host.died.then((d) => ({ ...d, actor: d.actor ?? this.#culprit(worker) }));
      this.#deaths.set(host, death);
    }
    return death;
  }

  #culprit(worker: number): string {
    const here = [...this.#entries.values()].filter((e) => e.request.worker === worker).map((e) => e.ref);
    return (here.find((r) => r.inFlight > 0) ?? here[0])?.name ?? `worker ${worker}`;
  }

  /** Where a worker loads `kind`'s definition: the catalog's module, compiled. */
  #definition(kind: string): SpawnRequest['definition'] {
    if (!Object.hasOwn(this.#catalog, kind)) {
      const kinds = Object.keys(this.#catalog).map((k) => `'${k}'`).join(', ');
      throw errors.invalidValue('actor kind', `one of ${kinds}`, kind);
    }
    const ref = this.#catalog[kind as keyof K]!;
    return { module: workerEntry(ref.module, ref.module), export: ref.export };
  }

  #slot(worker: number): WorkerSlot {
    const slot = this.#slots[worker];
    if (!slot) throw errors.invalidValue('worker', `an integer in [0, ${this.workers})`, worker);
    return slot;
  }
}

/** A process slot's `env` option for `worker`. */
function envOf(env: SystemOptions['env'], worker: number): { env?: Readonly<Record<string, string>> } {
  if (env === undefined) return {};
  return { env: typeof env === 'function' ? env(worker) : env };
}
