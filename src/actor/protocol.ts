/**
 * The types every actor shares: what an actor can ask of its runtime, how a
 * protocol's methods are typed at the caller, the faults that can be planned
 * for it, and the envelopes that travel on an actor's channel.
 *
 * The runtime never names an application actor: an actor's own protocol (its
 * requests, replies and events) lives beside it in `actors/`, and the
 * application hands the system a catalog of its kinds (`actors/catalog.ts`).
 */

/** How an actor's worker dies when a planned fault fires. */
export type FaultKind = 'crash' | 'throw' | 'oom';

/**
 * A fault planned for one actor: at its first request for `step` its worker
 * dies — `crash` calls `process.exit(1)` (in a worker thread that ends the
 * thread only), `throw` raises an uncaught error, `oom` allocates until the
 * worker's memory limit ends it. It fires once: a restarted actor has none.
 */
export interface FaultPlan {
  readonly kind: FaultKind;
  readonly step: number;
}

/** What an actor may do with its runtime, inside its worker. */
export interface ActorContext<E> {
  /** The actor's name in its system (`generator`, `probe-1`, …). */
  readonly name: string;
  /** The worker (0-based) that hosts it. */
  readonly worker: number;
  /** Sends an event to the caller's stream for this actor. */
  emit(event: E): void;
  /**
   * Called at the start of the work of step `step` (1-based): here a planned
   * fault fires. Returns normally when none is planned for that step.
   */
  reached(step: number): void;
}

/** The methods of protocol `P` that a caller may invoke: those returning promises. */
export type MethodOf<P> = {
  [K in keyof P]-?: P[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof P] &
  string;

/** The arguments of method `K` of `P` (none, or one request record). */
export type ArgsOf<P, K extends keyof P> = P[K] extends (...args: infer A) => Promise<unknown> ? A : never;

/** What method `K` of `P` resolves to. */
export type ReplyOf<P, K extends keyof P> = P[K] extends (...args: never[]) => Promise<infer R> ? R : never;

/** The requests of protocol `P`, as a table: the runtime exposes exactly these, and the type checks none is missing. */
export type RequestTable<P> = { readonly [K in MethodOf<P>]: true };

/** An actor as it is built inside its worker: its protocol, and optionally what to release when it stops. */
export type ActorInstance<P> = P & { dispose?(): void | Promise<void> };

/**
 * How to build one kind of actor: its request table and a factory. Each
 * file in `actors/` exports one.
 */
export interface ActorDefinition<I, P, E> {
  readonly requests: RequestTable<P>;
  create(init: I, ctx: ActorContext<E>): ActorInstance<P> | Promise<ActorInstance<P>>;
}

/** Where a worker finds a kind's `ActorDefinition`: a module (a `file:` URL or path) and the export holding it. */
export interface DefinitionRef {
  readonly module: string;
  readonly export: string;
}

/** One kind of actor as its callers type it: what it is built from, what it answers, what it emits. */
export interface ActorKindSpec<I = unknown, P = unknown, E = unknown> {
  readonly init: I;
  readonly protocol: P;
  readonly event: E;
}

/** The kinds a system can spawn, by name: the types, and where each definition is loaded from. */
export type ActorCatalog<K> = { readonly [N in keyof K]: DefinitionRef };

/** An error as it crosses a channel: enough to rebuild a `ParagenError` on the other side. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly exitCode?: number;
}

/**
 * What travels on one actor's channel, in both directions. `rpc` carries
 * comlink's own messages; the rest are the runtime's. A discriminated union
 * on `t`, like comlink's wire protocol.
 */
export type LinkMessage =
  /** A comlink request or reply. */
  | { readonly t: 'rpc'; readonly data: unknown }
  /** An event the actor emitted (worker → caller). */
  | { readonly t: 'event'; readonly event: unknown }
  /** The actor is built and exposed (worker → caller). */
  | { readonly t: 'ready' }
  /** The actor could not be built (worker → caller). */
  | { readonly t: 'failed'; readonly error: SerializedError }
  /** Finish the requests in the mailbox, dispose, and stop (caller → worker). */
  | { readonly t: 'stop' }
  /** The actor stopped (worker → caller). */
  | { readonly t: 'stopped' };

/** What a worker needs to build one actor. */
export interface SpawnRequest<I = unknown> {
  readonly name: string;
  readonly kind: string;
  /** The compiled module of the kind's definition (the system resolves it from its catalog). */
  readonly definition: DefinitionRef;
  readonly init: I;
  /** The worker that hosts the actor. */
  readonly worker: number;
  /** The actor's position on its host, from 0: what the host's crash marker records. */
  readonly index: number;
  readonly fault?: FaultPlan;
}
