/**
 * The piscina task of a thread host: one long-running task per actor. It
 * receives the actor's MessagePort (in `transferList`), builds the actor,
 * exposes it on that port, and resolves when the actor stops. If the thread
 * dies first, piscina rejects the task: the caller's signal that the actor
 * (and every actor on the thread) is gone.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SpawnRequest } from './protocol.js';
import { hostActor } from './runtime.js';
import { portLink } from './wire.js';

export interface ThreadTask {
  readonly port: MessagePort;
  readonly request: SpawnRequest;
  /** Int32Array(1) on a SharedArrayBuffer, shared by the host's actors and the caller. */
  readonly marker: Int32Array;
}

export async function runActor(task: ThreadTask): Promise<void> {
  await hostActor(task.request, portLink(task.port), { marker: task.marker });
}

export default runActor;
