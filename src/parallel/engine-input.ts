/**
 * What the actor engine makes of its inputs before any worker starts: checked
 * counts, the configured fault, the training split as the hosts receive it,
 * and a checkpoint's files by network.
 */
import type { FaultPlan } from '../actor/index.js';
import type { Split } from '../data/index.js';
import { errors } from '../errors.js';
import type { ModelSpec } from '../models/index.js';
import { FAMILY_ACTORS, parseFault, type ActorName } from '../domain.js';

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
