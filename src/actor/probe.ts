/**
 * The probe: a diagnostic actor with no model, for measuring the runtime's
 * per-message overhead (`bench/actor-overhead.ts`) and for testing its
 * guarantees — typed calls, ordering, events, errors and faults — on real
 * threads and processes without paying for TensorFlow.js.
 */
import { threadId } from 'node:worker_threads';
import { errors } from '../errors.js';
import type { ActorContext, ActorDefinition } from './protocol.js';
import { transfer } from './wire.js';

export interface ProbeInit {
  /** Echoed by `info()`, to tell probes apart. */
  readonly label: string;
}

export type ProbeEvent = { readonly type: 'tick'; readonly seq: number };

export interface ProbeInfo {
  readonly label: string;
  readonly name: string;
  readonly worker: number;
  readonly pid: number;
  readonly threadId: number;
  /** `CUDA_VISIBLE_DEVICES` where the actor runs (a process host may set it per worker). */
  readonly cudaVisibleDevices: string | null;
}

export interface ProbeProtocol {
  /** An empty round trip. */
  ping(): Promise<void>;
  /** Sends `data` back; both ways its buffer moves instead of being copied (threads). */
  echo(request: { readonly data: Float32Array }): Promise<{ readonly data: Float32Array }>;
  /** Waits `turns` event-loop turns, then appends `seq` to the log; resolves with the log's length. */
  record(request: { readonly seq: number; readonly turns?: number }): Promise<number>;
  /** The sequence numbers `record` logged, in the order it logged them. */
  log(): Promise<number[]>;
  /** Emits `tick` events with seq 0 … count-1, then resolves. */
  emit(request: { readonly count: number }): Promise<void>;
  /** Rejects with a usage error naming `field`, as an actor's validation would. */
  fail(request: { readonly field: string }): Promise<never>;
  /** Marks the start of `step`, where a planned fault fires; resolves with `step`. */
  step(request: { readonly step: number }): Promise<number>;
  info(): Promise<ProbeInfo>;
}

class Probe implements ProbeProtocol {
  readonly #init: ProbeInit;
  readonly #ctx: ActorContext<ProbeEvent>;
  readonly #log: number[] = [];

  constructor(init: ProbeInit, ctx: ActorContext<ProbeEvent>) {
    this.#init = init;
    this.#ctx = ctx;
  }

  async ping(): Promise<void> {}

  async echo(request: { readonly data: Float32Array }): Promise<{ readonly data: Float32Array }> {
    return transfer({ data: request.data }, [request.data]);
  }

  async record(request: { readonly seq: number; readonly turns?: number }): Promise<number> {
    for (let i = 0; i < (request.turns ?? 0); i++) await new Promise((resolve) => setImmediate(resolve));
    this.#log.push(request.seq);
    return this.#log.length;
  }

  async log(): Promise<number[]> {
    return [...this.#log];
  }

  async emit(request: { readonly count: number }): Promise<void> {
    for (let seq = 0; seq < request.count; seq++) this.#ctx.emit({ type: 'tick', seq });
  }

  async fail(request: { readonly field: string }): Promise<never> {
    throw errors.invalidValue(request.field, 'what the probe expects', 'something else');
  }

  async step(request: { readonly step: number }): Promise<number> {
    this.#ctx.reached(request.step);
    return request.step;
  }

  async info(): Promise<ProbeInfo> {
    const { label } = this.#init;
    const cudaVisibleDevices = process.env['CUDA_VISIBLE_DEVICES'] ?? null;
    return { label, name: this.#ctx.name, worker: this.#ctx.worker, pid: process.pid, threadId, cudaVisibleDevices };
  }
}

export const probe: ActorDefinition<ProbeInit, ProbeProtocol, ProbeEvent> = {
  requests: { ping: true, echo: true, record: true, log: true, emit: true, fail: true, step: true, info: true },
  create: (init, ctx) => new Probe(init, ctx),
};
