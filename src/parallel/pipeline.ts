/**
 * Running a replica's microbatches through its two stages. Stage 0 (the
 * generator, the encoder) runs a forward request and, later, a backward
 * request per microbatch; the last stage (the discriminator, the decoder)
 * runs forward and backward of a microbatch — its loss included — in one
 * request, between the two. Actors answer their requests one at a time in
 * arrival order, so sending them in a schedule's order makes it the order
 * of work; each request is sent as soon as its input has arrived and every
 * request before it in its stage's order has been sent.
 *
 * Schedules of stage 0 (the last stage always goes microbatch by microbatch):
 * - GPipe: F0 F1 … F(m−1), then B0 … B(m−1): every forward first.
 * - 1F1B: one forward ahead (p − 1 with p = 2 stages), then one backward per
 *   forward: F0 F1 B0 F2 B1 … F(m−1) B(m−2) B(m−1). At most two
 *   microbatches wait at stage 0 for their backward, where GPipe keeps m.
 * With balanced stages both leave each stage idle (p−1)/(m+p−1) of the step:
 * the bubble, measured here from the busy time each request reports.
 *
 * One stage and one microbatch (single, data) is the same sequence:
 * forward, then the last stage, then backward.
 */
import { ActorDied } from '../actor/index.js';
import type { PipelineSchedule } from './strategy.js';

export interface StageOp {
  readonly kind: 'forward' | 'backward';
  /** The microbatch, from 0. */
  readonly chunk: number;
}

/** Stage 0's order of work for `microbatches` microbatches under `schedule` (two stages). */
export function stageZeroOrder(schedule: PipelineSchedule, microbatches: number): StageOp[] {
  const forward = (chunk: number): StageOp => ({ kind: 'forward', chunk });
  const backward = (chunk: number): StageOp => ({ kind: 'backward', chunk });
  const all = Array.from({ length: microbatches }, (_, c) => c);
  if (schedule === 'gpipe') return [...all.map(forward), ...all.map(backward)];
  // Warm-up: p − 1 = 1 forward ahead; then one forward, one backward; then the last backward.
  const order = [forward(0)];
  for (let c = 1; c < microbatches; c++) order.push(forward(c), backward(c - 1));
  order.push(backward(microbatches - 1));
  return order;
}

/** The bubble of balanced stages: (p − 1) / (m + p − 1). */
export function idealBubble(stages: number, microbatches: number): number {
  return (stages - 1) / (microbatches + stages - 1);
}

/** What every stage request reports besides its result. */
export interface Busy {
  /** Milliseconds the actor computed for it. */
  readonly busy: number;
}

/** How one replica's requests are made, per microbatch. */
export interface Stages<F, M, B> {
  /** Stage 0's forward. */
  forward(chunk: number): Promise<F & Busy>;
  /** The last stage: forward, loss and backward, given stage 0's output. */
  last(chunk: number, forward: F): Promise<M & Busy>;
  /** Stage 0's backward, given the last stage's gradient. */
  backward(chunk: number, last: M): Promise<B & Busy>;
}

export interface Driven<M, B> {
  /** The last stage's replies, by microbatch. */
  readonly last: M[];
  /** Stage 0's backward replies, by microbatch. */
  readonly backward: B[];
  /** Busy ms of stage 0 and of the last stage. */
  readonly busy: readonly [number, number];
  /** Ms from the first request sent to the last reply. */
  readonly wall: number;
}

/** A request not sent because an earlier one failed. */
class Skipped extends Error {
  override readonly name = 'Skipped';
}

/**
 * Runs `microbatches` through `stages` in `order`. On the first failure it
 * calls `onFailure` (which wakes replicas waiting in an all-reduce), sends
 * nothing more, waits for every request already sent to settle, and rejects
 * with the root cause (see `rootError`).
 */
export async function drive<F, M, B>(
  stages: Stages<F, M, B>,
  order: readonly StageOp[],
  onFailure: () => void,
): Promise<Driven<M, B>> {
  const started = performance.now();
  const sent: Promise<unknown>[] = [];
  const last: Promise<M & Busy>[] = [];
  const backward: Promise<B & Busy>[] = [];
  let busy0 = 0;
  let busy1 = 0;
  let failed = false;
  const watch = <T extends Busy>(request: Promise<T>, stage: 0 | 1): Promise<T> => {
    sent.push(request);
    return request.then(
      (reply) => {
        if (stage === 0) busy0 += reply.busy;
        else busy1 += reply.busy;
        return reply;
      },
      (error: unknown) => {
        if (!failed) {
          failed = true;
          onFailure();
        }
        throw error;
      },
    );
  };
  for (const op of order) {
    if (failed) break;
    if (op.kind === 'forward') {
      const forward = watch(attempt(() => stages.forward(op.chunk)), 0);
      const next = forward.then((reply) => {
        if (failed) throw new Skipped(`chunk ${op.chunk} not sent`);
        return watch(attempt(() => stages.last(op.chunk, reply)), 1);
      });
      next.catch(() => undefined);
      sent.push(next);
      last[op.chunk] = next;
    } else {
      const upstream = await last[op.chunk]!.catch(() => undefined);
      if (upstream === undefined || failed) break;
      const reply = watch(attempt(() => stages.backward(op.chunk, upstream)), 0);
      // A failure is seen through `sent` once every request has settled, not as an unhandled rejection now.
      reply.catch(() => undefined);
      backward[op.chunk] = reply;
    }
  }
  const settled = await Promise.allSettled(sent);
  const errors = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown);
  if (errors.length > 0) throw rootError(errors);
  return {
    last: await Promise.all(last),
    backward: await Promise.all(backward),
    busy: [busy0, busy1],
    wall: performance.now() - started,
  };
}

/** `make()`, with a synchronous throw turned into a rejection (every failure takes one path). */
function attempt<T>(make: () => Promise<T>): Promise<T> {
  try {
    return make();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The error to report when several requests failed: a dead worker first (the
 * supervisor restarts it), then an actor's own error, and only then the
 * consequences — an aborted all-reduce, a request never sent.
 */
export function rootError(errors: readonly unknown[]): unknown {
  const named = (name: string) => errors.find((e) => e instanceof Error && e.name === name);
  return (
    errors.find((e) => e instanceof ActorDied) ??
    errors.find((e) => !(e instanceof Error) || (e.name !== 'ReduceAborted' && e.name !== 'Skipped')) ??
    named('ReduceAborted') ??
    errors[0]
  );
}
