/**
 * Hosts, as the caller sees them. A worker slot (thread or process) holds one
 * host at a time — an incarnation of its thread or process — and can revive
 * a dead one. A host spawns actors and says when it died, of what, and which
 * of its actors was working then.
 */
import type * as Comlink from 'comlink';
import { Observable, Subject } from 'rxjs';
import type { HostKind } from '../domain.js';
import type { SpawnRequest } from './protocol.js';
import { deserializeError, installErrorHandler, rpcEndpoint, type Link } from './wire.js';

export type { HostKind } from '../domain.js';

/** How a host died. */
export interface Death {
  readonly worker: number;
  /** The actor that was working when it died, when the host could tell. */
  readonly actor?: string;
  /** `worker 1 exited with code 1`, `uncaught Error: …`, `worker 0 ran out of memory …`. */
  readonly cause: string;
}

/**
 * A request's host died under it. The supervisor catches this (and restarts);
 * it is not a user-facing error: when restarts run out, the engine turns it
 * into `errors.actorFailed`.
 */
export class ActorDied extends Error {
  override readonly name = 'ActorDied';
  readonly death: Death;

  constructor(death: Death) {
    super(`${death.actor ? `actor ${death.actor} on ` : ''}worker ${death.worker} died: ${death.cause}`);
    this.death = death;
  }
}

/** The caller's end of one actor incarnation's channel. */
export interface ActorLink {
  readonly endpoint: Comlink.Endpoint;
  readonly events$: Observable<unknown>;
  /** Lets the actor finish its mailbox, dispose and stop; resolves when it has, or its host died. */
  stop(): Promise<void>;
  /** Drops the channel without asking (its host is dead or being torn down). */
  close(): void;
}

/** One incarnation of a worker's thread or process. */
export interface Host {
  readonly kind: HostKind;
  readonly worker: number;
  /** Resolves once, when this incarnation dies (never when it is closed). */
  readonly died: Promise<Death>;
  readonly dead: boolean;
  /** Builds an actor here; rejects with the actor's build error, or when the host dies first. */
  spawn(request: SpawnRequest): Promise<ActorLink>;
  /** Stops its actors and ends its thread or process (a dead one is only cleaned up). */
  close(): Promise<void>;
}

/** A worker: the host it has now, and how to get a fresh one after a death. */
export interface WorkerSlot {
  readonly kind: HostKind;
  readonly worker: number;
  readonly current: Host;
  /** Replaces the current (dead) host with a new incarnation. */
  revive(): Host;
  close(): Promise<void>;
}

/** How long an actor may take to finish its mailbox and stop, ms. */
const STOP_GRACE_MS = 5000;

/** The caller's end of an actor channel, from spawn to stop; `ready` settles with the actor's handshake. */
export function openActorLink(link: Link, died: Promise<Death>, onClose: () => void): { ready: Promise<ActorLink> } {
  installErrorHandler();
  const events = new Subject<unknown>();
  // Events an actor emits while it is being built arrive before its handshake, when no one
  // can have subscribed yet: they wait for the first subscriber instead of being lost.
  let early: unknown[] | undefined = [];
  const events$ = new Observable<unknown>((subscriber) => {
    const subscription = events.subscribe(subscriber);
    const queued = early ?? [];
    early = undefined;
    for (const event of queued) subscriber.next(event);
    return subscription;
  });
  let stopped: (() => void) | undefined;
  let closed = false;
  const stop = new Promise<void>((resolve) => (stopped = resolve));
  const close = () => {
    if (closed) return;
    closed = true;
    off();
    link.close();
    events.complete();
    stopped?.();
    onClose();
  };
  let settle: { resolve: (l: ActorLink) => void; reject: (e: unknown) => void } | undefined;
  const actorLink: ActorLink = {
    endpoint: rpcEndpoint(link),
    events$,
    async stop() {
      if (closed) return;
      link.post({ t: 'stop' });
      // An actor stuck in a request would hold shutdown forever: past the grace period its
      // thread is terminated (piscina) or its process killed anyway.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
      timer?.unref();
      await Promise.race([stop, died, grace]);
      clearTimeout(timer);
      close();
    },
    close,
  };
  const off = link.listen((message) => {
    switch (message.t) {
      case 'event':
        if (early) early.push(message.event);
        else events.next(message.event);
        break;
      case 'ready':
        settle?.resolve(actorLink);
        break;
      case 'failed':
        settle?.reject(deserializeError(message.error));
        close();
        break;
      case 'stopped':
        stopped?.();
        break;
      default:
        break;
    }
  });
  const ready = new Promise<ActorLink>((resolve, reject) => {
    settle = { resolve, reject };
    died.then((death) => {
      reject(new ActorDied(death));
      close();
    });
  });
  return { ready };
}

/** A thread's death, in words, from what piscina rejected its tasks with. */
export function threadCause(worker: number, error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  const exit = /worker exited with code: (-?\d+)/.exec(e.message);
  if (exit) return `worker ${worker} exited with code ${exit[1]}`;
  if ((e as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return `worker ${worker} ran out of memory (${e.message})`;
  }
  return `worker ${worker} died of an uncaught ${e.name}: ${e.message}`;
}

/** A child process's death, in words. */
export function processCause(worker: number, code: number | null, signal: string | null, error?: string): string {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  return `worker ${worker} (process) ${how}${error ? ` after an uncaught ${error}` : ''}`;
}
