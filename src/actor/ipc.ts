/**
 * One IPC channel (`child_process.fork` with `serialization: 'advanced'`,
 * so typed arrays cross as typed arrays), shared by every actor of a process
 * host: each actor's envelopes carry its id, and the host's own control
 * messages (spawn, exit) travel beside them.
 */
import type { Link } from './wire.js';
import type { LinkMessage, SpawnRequest } from './protocol.js';

/** Control messages of a process host: spawn and exit (caller → child), hello (child → caller, once it listens). */
export type IpcControl =
  | { readonly c: 'spawn'; readonly id: number; readonly request: SpawnRequest }
  | { readonly c: 'exit' }
  | { readonly c: 'hello' };

/** Everything on the channel: an actor's envelope, or a control message. */
export type IpcMessage = { readonly id: number; readonly m: LinkMessage } | IpcControl;

/** The parts of `process` (in the child) and of a `ChildProcess` (in the caller) a mux uses. */
export interface IpcChannel {
  send?(message: IpcMessage): boolean;
  readonly connected?: boolean;
  on(event: 'message', listener: (message: IpcMessage) => void): unknown;
  off(event: 'message', listener: (message: IpcMessage) => void): unknown;
}

/** Routes a channel's messages to per-actor links and to a control listener. */
export class IpcMux {
  readonly #channel: IpcChannel;
  readonly #links = new Map<number, Set<(message: LinkMessage) => void>>();
  #control: ((message: IpcControl) => void) | undefined;
  readonly #onMessage = (message: IpcMessage) => {
    if ('c' in message) this.#control?.(message);
    else for (const listener of this.#links.get(message.id) ?? []) listener(message.m);
  };

  constructor(channel: IpcChannel) {
    this.#channel = channel;
    channel.on('message', this.#onMessage);
  }

  /** Sends a message unless the channel is gone (a dead child's channel refuses sends). */
  send(message: IpcMessage): void {
    if (this.#channel.connected !== false) this.#channel.send?.(message);
  }

  onControl(listener: (message: IpcControl) => void): void {
    this.#control = listener;
  }

  /** The link of actor `id`. Transfer lists are ignored: the channel serialises (copies) everything. */
  link(id: number): Link {
    let closed = false;
    const mine = new Set<(message: LinkMessage) => void>();
    this.#links.set(id, mine);
    return {
      post: (m) => {
        if (!closed) this.send({ id, m });
      },
      listen: (listener) => {
        mine.add(listener);
        return () => mine.delete(listener);
      },
      close: () => {
        closed = true;
        mine.clear();
        this.#links.delete(id);
      },
    };
  }

  close(): void {
    this.#channel.off('message', this.#onMessage);
    this.#links.clear();
    this.#control = undefined;
  }
}
