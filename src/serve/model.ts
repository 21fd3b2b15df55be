/**
 * The networks `paragen serve` runs, read once from a run's newest good
 * checkpoint and kept as weights in SharedArrayBuffers: every task on the
 * worker pool then carries a view of the same memory instead of a copy, and a
 * worker rebuilds a network only when the checkpoint `key` changes.
 */
import type { BackendChoice } from '../backend/index.js';
import type { ModelSpec } from '../models/index.js';
import { listCheckpoints } from '../run/checkpoint.js';
import { imageNetwork, openTrainedRun } from '../run/trained-run.js';

export interface ServedModel {
  /** Names this checkpoint among every one the server may load: the workers' cache key. */
  readonly key: string;
  readonly spec: ModelSpec;
  readonly step: number;
  readonly checkpoint: string;
  /** The generator's (GAN) or decoder's (VAE) weights, in `getWeights()` order. */
  readonly imageWeights: readonly Float32Array[];
  /** A VAE's encoder weights, for /v1/reconstruct. */
  readonly encoderWeights?: readonly Float32Array[];
  readonly backend: BackendChoice;
  readonly warnings: readonly string[];
}

/** Loads so far in this process: a rewritten checkpoint of the same step still gets a new key. */
let loads = 0;

/** Copies into shared memory: views of it cross to worker threads without a copy. */
function shared(weights: readonly Float32Array[]): Float32Array[] {
  return weights.map((w) => {
    const out = new Float32Array(new SharedArrayBuffer(w.byteLength));
    out.set(w);
    return out;
  });
}

/**
 * Loads the run's networks for serving. Failures are openTrainedRun's one-line
 * `BAD_FILE` errors (no such run, no checkpoint that verifies, …).
 */
export async function loadServedModel(
  dir: string,
  backend: BackendChoice,
  onWarning?: (message: string) => void,
): Promise<ServedModel> {
  const trained = await openTrainedRun(dir, {
    networks: (spec) => (spec.kind === 'vae' ? ['decoder', 'encoder'] : [imageNetwork(spec)]),
    onWarning,
  });
  try {
    const image = shared(await trained.part(imageNetwork(trained.spec)).getWeights());
    const encoder = trained.spec.kind === 'vae' ? shared(await trained.part('encoder').getWeights()) : undefined;
    return {
      key: `${trained.checkpoint}#${++loads}`,
      spec: trained.spec,
      step: trained.step,
      checkpoint: trained.checkpoint,
      imageWeights: image,
      ...(encoder ? { encoderWeights: encoder } : {}),
      backend,
      warnings: trained.warnings,
    };
  } finally {
    trained.dispose();
  }
}

/** The newest checkpoint step of `dir` (verified or not), or undefined: what `--watch` polls. */
export async function newestStep(dir: string): Promise<number | undefined> {
  const steps = await listCheckpoints(dir);
  return steps.length === 0 ? undefined : steps[steps.length - 1];
}
