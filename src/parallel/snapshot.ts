/**
 * The supervisor's snapshots: every network's weights and optimizer state,
 * the data cursor and the step RNG's state, all as of one step, kept in the
 * calling thread so that they outlive any worker.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetworkSnapshot } from '../../actors/network.js';
import type { Cursor } from '../data/index.js';
import { errors } from '../errors.js';
import { createPart, runOptimizer, type ModelSpec, type NetworkName } from '../models/index.js';
import { encodePart } from '../models/state.js';
import type { RngState } from '../rng.js';
import type { StateFiles } from './engine.js';
import { ENGINE_STATE_FILE, engineStateFile } from './engine-state.js';

export interface Snapshot {
  /** Steps done when it was taken. */
  readonly step: number;
  /** Where the next batch is read. */
  readonly cursor: Cursor;
  readonly rng: RngState;
  readonly networks: Readonly<Partial<Record<NetworkName, NetworkSnapshot>>>;
}

/**
 * A snapshot as checkpoint files, built in this thread (on its TensorFlow.js
 * backend) without any actor: what `save()` returns once an actor's restart
 * budget is spent and its worker is gone.
 */
export async function snapshotFiles(
  spec: ModelSpec,
  snapshot: Snapshot,
  options: { readonly seed: number; readonly lr: number; readonly beta1: number; readonly ema?: number },
): Promise<StateFiles> {
  await tf.ready();
  const files: StateFiles = {};
  for (const network of spec.networks as readonly NetworkName[]) {
    const state = snapshot.networks[network];
    if (!state) throw errors.internal(`snapshot of step ${snapshot.step} has no ${network}`);
    const part = createPart(spec, network, options.seed, runOptimizer(network, options));
    try {
      part.setWeights(state.weights);
      part.setOptimizerState(state.optimizer);
      Object.assign(files, await encodePart(part));
    } finally {
      part.dispose();
    }
  }
  files[ENGINE_STATE_FILE] = engineStateFile(snapshot.cursor, snapshot.rng);
  return files;
}
