/**
 * Messages between the bench (parent) and a baseline task or a matMul peak
 * task. Types only: this file compiles to nothing, so the plain-tfjs side
 * imports no paragen code through it.
 */
import type { MessagePort } from 'node:worker_threads';

/** What a baseline task trains: `model` on `backend`, until told to stop. */
export interface BaselineJob {
  readonly model: string;
  readonly backend: 'wasm' | 'cpu';
  readonly batchSize: number;
  /** MNIST training images, uint8, [count, 28, 28] (the child reads no files of paragen's). */
  readonly images: Uint8Array;
  readonly count: number;
  readonly seed: number;
}

/** A baseline task: the job, and the port its messages travel on (transferred). */
export interface BaselineTask {
  readonly job: BaselineJob;
  readonly port: MessagePort;
}

/** Parent → baseline task. */
export type ParentMessage = { readonly type: 'stop' };

/** Baseline task → parent. */
export type ChildMessage =
  /** The backend is up; `kernels` are the kernel names registered for it (none of paragen's). */
  | { readonly type: 'ready'; readonly at: number; readonly backend: string; readonly kernels: readonly string[] }
  /** A step finished at `at` ms (the task's clock) with these losses; `cpu`: the task thread's CPU seconds so far. */
  | { readonly type: 'step'; readonly at: number; readonly cpu: number; readonly losses: readonly number[] }
  | { readonly type: 'error'; readonly message: string };

/** A matMul peak task: multiply for `seconds` (matmul-worker.ts). */
export interface PeakTask {
  readonly seconds: number;
}

/** What a peak task did: `multiplies` products of 512×512 by 512×512 in `seconds`. */
export interface PeakDone {
  readonly multiplies: number;
  readonly seconds: number;
}
