/**
 * A typed reference to an actor, stable across its restarts: calls are
 * checked against the actor's protocol, go straight to its current
 * incarnation, and reject with `ActorDied` when its host dies under them —
 * comlink alone would leave them pending forever.
 */
import * as Comlink from 'comlink';
import { Subject, type Observable, type Subscription } from 'rxjs';
import { errors } from '../errors.js';
import { ActorDied, type ActorLink, type Death } from './host.js';
import type { ArgsOf, MethodOf, ReplyOf } from './protocol.js';

interface Incarnation<P> {
  /**
   * Held for the incarnation's whole life: comlink releases an endpoint when
   * its last proxy is garbage-collected, even with calls in flight (comlink#692).
   */
  readonly remote: Comlink.Remote<P>;
  readonly link: ActorLink;
  /** Rejects with `ActorDied` when the host dies. */
  readonly dead: Promise<never>;
  readonly events: Subscription;
  /** One comlink proxy per method, made once: each new proxy is a FinalizationRegistry entry. */
  readonly methods: Map<string, (...args: unknown[]) => Promise<unknown>>;
}

export class ActorRef<P, E = unknown> {
  readonly name: string;
  readonly kind: string;
  readonly worker: number;
  /** The actor's events, across its restarts; completes when the actor stops. */
  readonly events$: Observable<E>;
  readonly #events = new Subject<E>();
  #current: Incarnation<P> | undefined;
  #lastDeath: Death | undefined;
  #inFlight = 0;
  #stopped = false;

  constructor(name: string, kind: string, worker: number) {
    this.name = name;
    this.kind = kind;
    this.worker = worker;
    this.events$ = this.#events.asObservable();
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Sends `method` with its request. Mark buffers to move with `transfer()`
   * from `wire.ts`; everything else is copied.
   *
   * @example
   * const { fake } = await generator.call('forward', transfer({ step, noise, seed }, [noise]));
   */
  call<K extends MethodOf<P>>(method: K, ...args: ArgsOf<P, K>): Promise<ReplyOf<P, K>> {
    const current = this.#current;
    if (!current) {
      return Promise.reject(
        this.#stopped ? errors.actorStopped(this.name) : new ActorDied(this.#lastDeath ?? { worker: this.worker, actor: this.name, cause: 'not started' }),
      );
    }
    let send = current.methods.get(method);
    if (!send) {
      send = (current.remote as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
      current.methods.set(method, send);
    }
    this.#inFlight++;
    return Promise.race([send(...args) as Promise<ReplyOf<P, K>>, current.dead]).finally(() => this.#inFlight--);
  }

  /** Binds a new incarnation (the system does this on spawn and on restart). */
  attach(link: ActorLink, death: Promise<Death>): void {
    this.detach();
    const dead = death.then((d): never => {
      this.#lastDeath = d;
      throw new ActorDied({ ...d, actor: d.actor ?? this.name });
    });
    // Observed by whoever calls; with no call in flight nobody else will.
    dead.catch(() => undefined);
    this.#current = {
      remote: Comlink.wrap<P>(link.endpoint),
      link,
      dead,
      events: link.events$.subscribe((e) => this.#events.next(e as E)),
      methods: new Map(),
    };
  }

  /** Unbinds the current incarnation (its host died). */
  detach(): void {
    const current = this.#current;
    if (!current) return;
    this.#current = undefined;
    current.events.unsubscribe();
    current.link.close();
  }

  /** Stops the actor after the requests already sent; later calls reject with `errors.actorStopped`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const current = this.#current;
    this.#current = undefined;
    if (current) {
      await current.link.stop();
      current.events.unsubscribe();
    }
    this.#events.complete();
  }
}
