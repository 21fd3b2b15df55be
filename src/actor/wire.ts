/**
 * Channels between the caller and an actor: a `Link` carries the envelopes of
 * `protocol.ts` over a MessagePort (thread host) or one multiplexed IPC
 * channel (process host), and `rpcEndpoint` lets comlink speak over any Link.
 *
 * Events travel as envelopes on the same channel rather than as
 * `Comlink.proxy()` callbacks: a proxy needs a MessagePort of its own, which
 * Node lacks a transfer handler for (comlink#313) and which cannot cross an
 * IPC channel at all.
 */
import type { MessagePort, Transferable } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { ParagenError, type ErrorCode } from '../errors.js';
import type { LinkMessage, SerializedError } from './protocol.js';

/** One actor's channel, seen from either end. */
export interface Link {
  /** Sends; `transfer` moves those buffers where the channel can (threads), and is ignored where it cannot (IPC copies). */
  post(message: LinkMessage, transfer?: readonly Transferable[]): void;
  /** Listens to every envelope; returns the function that stops listening. */
  listen(listener: (message: LinkMessage) => void): () => void;
  /** Stops sending and listening; idempotent. */
  close(): void;
}

/** A Link over a MessagePort. */
export function portLink(port: MessagePort): Link {
  let closed = false;
  return {
    post(message, transfer = []) {
      if (!closed) port.postMessage(message, transfer);
    },
    listen(listener) {
      const onMessage = (message: LinkMessage) => listener(message);
      port.on('message', onMessage);
      return () => port.off('message', onMessage);
    },
    close() {
      if (closed) return;
      closed = true;
      port.removeAllListeners('message');
      port.close();
    },
  };
}

type Listener = ((event: { data: unknown }) => void) | { handleEvent(event: { data: unknown }): void };

/** The comlink endpoint of a Link: comlink's messages travel as `rpc` envelopes. */
export function rpcEndpoint(link: Link): Comlink.Endpoint {
  const listeners = new Map<Listener, () => void>();
  const endpoint = {
    postMessage(data: unknown, transfer?: Transferable[]) {
      link.post({ t: 'rpc', data }, transfer ?? []);
    },
    addEventListener(_type: string, listener: Listener) {
      const off = link.listen((message) => {
        if (message.t !== 'rpc') return;
        const event = { data: message.data };
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      });
      listeners.set(listener, off);
    },
    removeEventListener(_type: string, listener: Listener) {
      listeners.get(listener)?.();
      listeners.delete(listener);
    },
  };
  // comlink types its endpoint with DOM event types that this Node-only build does not load.
  return endpoint as unknown as Comlink.Endpoint;
}

/**
 * Marks `value` so that the buffers under `views` move with it instead of
 * being copied (`Comlink.transfer`). Shared buffers are left out: they are
 * shared, not moved. The sender must not touch the views afterwards.
 */
export function transfer<T extends object>(value: T, views: readonly (ArrayBufferView | undefined)[]): T {
  const buffers: ArrayBuffer[] = [];
  for (const view of views) {
    const buffer = view?.buffer;
    if (buffer instanceof ArrayBuffer && !buffers.includes(buffer)) buffers.push(buffer);
  }
  return Comlink.transfer(value, buffers as unknown as Parameters<typeof Comlink.transfer>[1]);
}

/** An error, as `SerializedError`: a ParagenError keeps its code and exit code. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, exitCode } = error as { code?: unknown; exitCode?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof exitCode === 'number' ? { exitCode } : {}),
  };
}

/** Rebuilds an error: a ParagenError when it was one, an Error otherwise. */
export function deserializeError(error: SerializedError): Error {
  const rebuilt =
    error.name === 'ParagenError' && error.code !== undefined
      ? new ParagenError(error.code as ErrorCode, error.message, error.exitCode)
      : Object.assign(new Error(error.message), { name: error.name });
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}

let installed = false;

/**
 * Replaces comlink's `throw` handler (which keeps only name, message and
 * stack) with one that keeps a ParagenError's code and exit code, so an
 * actor's `invalidValue` is still a usage error at the caller. Both ends of a
 * channel install it.
 */
export function installErrorHandler(): void {
  if (installed) return;
  installed = true;
  const base = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: base.canHandle,
    serialize(thrown: unknown) {
      const { value } = thrown as { value: unknown };
      const wire = value instanceof Error ? { isError: true, error: serializeError(value) } : { isError: false, value };
      return [wire, []];
    },
    deserialize(wire: unknown): never {
      const w = wire as { isError: true; error: SerializedError } | { isError: false; value: unknown };
      throw w.isError ? deserializeError(w.error) : w.value;
    },
  });
}
