/**
 * What an engine makes of its inputs before any worker starts: the options it
 * reads, checked counts and image shapes, the configured fault, the step RNG,
 * the training split as the hosts receive it, and a checkpoint's files by network.
 */
import type { FaultPlan } from '../actor/index.js';
import type { Dataset, Split } from '../data/index.js';
import { errors } from '../errors.js';
import type { ModelSpec } from '../models/index.js';
import { Rng } from '../rng.js';
import { FAMILY_ACTORS, parseFault, type ActorName } from '../domain.js';

/** What an engine needs from the run's config. */
export interface EngineOptions {
  readonly model: string;
  readonly batchSize: number;
  readonly lr: number;
  readonly beta1: number;
  /** The decay of the generator's moving average of weights (0 or absent: none). */
  readonly ema?: number;
  readonly seed: number;
}

/** Checks that `dataset`'s training images are of the shape the model takes. */
export function checkImageShape(spec: ModelSpec, split: Split, datasetName: Dataset['name']): void {
  const [h, w, c] = spec.imageShape;
  if (split.height !== h || split.width !== w || split.channels !== c) {
    throw errors.invalidValue(
      'dataset',
      `images of ${h}×${w}×${c} for model '${spec.name}'`,
      `${datasetName} (${split.height}×${split.width}×${split.channels})`,
    );
  }
}

/** The RNG a run draws its step plans from (separate from the weight-init and data streams). */
export function stepRng(seed: number): Rng {
  return new Rng((seed ^ 0x2545f491) >>> 0);
}

/** `field` must be an integer of at least `min` (0 or 1). */
export function checkCount(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw errors.invalidValue(field, min === 0 ? 'a non-negative integer' : 'a positive integer', value);
  }
}

/** The config's `crash:<actor>@<step>`, checked against the model's actors. */
export function configFault(value: string | undefined, spec: ModelSpec): { actor: ActorName; plan: FaultPlan } | undefined {
  if (value === undefined) return undefined;
  const fault = parseFault(value);
  const actors = FAMILY_ACTORS[spec.kind];
  if (!fault || !actors.includes(fault.actor) || fault.step < 1) {
    throw errors.invalidValue('fault', `'crash:<actor>@<step>' with <actor> one of ${actors.join(', ')} and <step> from 1`, value);
  }
  return { actor: fault.actor, plan: { kind: 'crash', step: fault.step } };
}

/** The split with its images in a SharedArrayBuffer: every thread (and every restart) reads the same memory. */
export function sharedSplit(split: Split): Split {
  const { images } = split;
  const shared = new SharedArrayBuffer(images.byteLength);
  const copy = images instanceof Uint8Array ? new Uint8Array(shared) : new Float32Array(shared);
  copy.set(images);
  return { ...withoutLabels(split), images: copy };
}

/** The split as a process host receives it: only its own images (an IPC message copies the whole buffer under a view). */
export function ownSplit(split: Split): Split {
  const { images } = split;
  const own = images.byteOffset === 0 && images.byteLength === images.buffer.byteLength ? images : images.slice();
  return { ...withoutLabels(split), images: own };
}

function withoutLabels(split: Split): Split {
  const { labels: _labels, ...rest } = split;
  return rest;
}

/** The files of `network` in a checkpoint. */
export function filesOf(network: string, files: ReadonlyMap<string, Uint8Array>): Record<string, Uint8Array> {
  return Object.fromEntries([...files].filter(([path]) => path.startsWith(`${network}/`)));
}
