/**
 * The actor runtime inside a worker (thread or process): builds one actor
 * from its definition, exposes its request table with comlink behind a
 * mailbox, forwards its events, fires a planned fault, and stops it on
 * request.
 *
 * The mailbox runs one request at a time, in arrival order, as an actor
 * should: comlink alone would start every request as it arrives and let
 * async handlers interleave.
 */
import * as Comlink from 'comlink';
import { pathToFileURL } from 'node:url';
import { errors } from '../errors.js';
import type { ActorContext, ActorDefinition, FaultKind, SpawnRequest } from './protocol.js';
import { installErrorHandler, rpcEndpoint, serializeError, type Link } from './wire.js';

/** How a host follows which actor is working, for naming the culprit when its worker dies. */
export interface HostHooks {
  /** Shared with the caller (thread hosts): holds index + 1 of the actor that last began a request. */
  readonly marker?: Int32Array;
  /** Told the actor's name whenever it begins a request (process hosts write it in their death note). */
  readonly onEnter?: (name: string) => void;
}

/** A fault that must kill the worker rather than answer the request. */
class FatalFault extends Error {
  override readonly name = 'FatalFault';
}

/** Runs jobs one at a time, in order; a failed job fails only its own caller. */
class Mailbox {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(job);
    // The next job waits for this one to settle either way; its error belongs to its own caller.
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/**
 * Builds and serves the actor of `request` on `link` until the caller asks
 * it to stop. Resolves once it stopped — or at once when it could not be
 * built, after telling the caller why.
 */
export async function hostActor(request: SpawnRequest, link: Link, hooks: HostHooks = {}): Promise<void> {
  installErrorHandler();
  const enter = () => {
    if (hooks.marker) Atomics.store(hooks.marker, 0, request.index + 1);
    hooks.onEnter?.(request.name);
  };
  const die = (kind: FaultKind, step: number): never => {
    enter();
    const what = `injected fault: actor ${request.name} ${kind === 'crash' ? 'exited' : kind === 'oom' ? 'ran out of memory' : 'threw'} at step ${step}`;
    if (kind === 'crash') process.exit(1);
    if (kind === 'oom') exhaustHeap(step);
    throw new FatalFault(what);
  };
  const ctx: ActorContext<unknown> = {
    name: request.name,
    worker: request.worker,
    emit: (event) => link.post({ t: 'event', event }),
    reached: (step) => {
      if (request.fault !== undefined && request.fault.step === step) die(request.fault.kind, step);
    },
  };

  let actor: Record<string, unknown> & { dispose?(): void | Promise<void> };
  let methods: string[];
  try {
    const definition = await loadDefinition(request);
    methods = Object.keys(definition.requests);
    actor = (await definition.create(request.init as never, ctx as never)) as unknown as typeof actor;
  } catch (error) {
    link.post({ t: 'failed', error: serializeError(error) });
    return;
  }

  const mailbox = new Mailbox();
  const exposed: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of methods) {
    exposed[method] = (...args) =>
      mailbox.run(async () => {
        enter();
        try {
          return await (actor[method] as (...a: unknown[]) => unknown).apply(actor, args);
        } catch (error) {
          if (!(error instanceof FatalFault)) throw error;
          // Uncaught on purpose: the worker must die of it, and this request must never be answered.
          setImmediate(() => {
            throw new Error(error.message);
          });
          return new Promise<never>(() => undefined);
        }
      });
  }

  const stopped = new Promise<void>((resolve) => {
    const off = link.listen((message) => {
      if (message.t !== 'stop') return;
      off();
      void mailbox
        .run(async () => {
          await actor.dispose?.();
        })
        .then(
          () => undefined,
          (error: unknown) => link.post({ t: 'event', event: { type: 'warning', message: `stopping ${request.name}: ${serializeError(error).message}` } }),
        )
        .then(() => {
          link.post({ t: 'stopped' });
          resolve();
        });
    });
  });
  Comlink.expose(exposed, rpcEndpoint(link));
  link.post({ t: 'ready' });
  await stopped;
}

/** Allocates until the worker's heap limit ends it (the `oom` fault). */
function exhaustHeap(step: number): never {
  const hoard: number[][] = [];
  for (;;) hoard.push(new Array<number>(1 << 20).fill(step + hoard.length));
}

/** The definition a spawn request names, from its compiled module. */
async function loadDefinition(request: SpawnRequest): Promise<ActorDefinition<unknown, unknown, unknown>> {
  const { module, export: name } = request.definition;
  const loaded = (await import(module.startsWith('file:') ? module : pathToFileURL(module).href)) as Record<string, unknown>;
  const definition = loaded[name] as Partial<ActorDefinition<unknown, unknown, unknown>> | undefined;
  if (typeof definition?.create !== 'function' || typeof definition.requests !== 'object') {
    throw errors.invalidValue(`definition of actor kind '${request.kind}'`, `an ActorDefinition exported as '${name}' by ${module}`, typeof definition);
  }
  return definition as ActorDefinition<unknown, unknown, unknown>;
}
