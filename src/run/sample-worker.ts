/**
 * The piscina tasks of the sample pool (sample-pool.ts): each rebuilds a
 * generator or decoder from its weights in this worker thread — its own
 * TensorFlow.js and wasm instance — and draws images from it, away from the
 * thread that asked (the training actors, or the CLI's main thread).
 *
 * Images are exactly those of `sampleImages` in one thread: the task's noise
 * stream is fast-forwarded to its first image, and its slice starts on a
 * 256-image batch boundary, so every batch the network sees is the same.
 */
import { existsSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { dirname } from 'node:path';
import { move, workerData } from 'piscina';
import { useBackend, type BackendChoice } from '../backend/index.js';
import { imageGrid, writePng } from '../data/index.js';
import { errors } from '../errors.js';
import { createPart, modelSpec, sampleImages, type ModelSpec } from '../models/index.js';
import { Rng } from '../rng.js';
import { makeDirs } from './fs-fault.js';

/** Images per forward pass: `sampleImages`' default batch, which the slices align to. */
export const SAMPLE_BATCH = 256;

export interface GenerateTask {
  readonly model: string;
  /** The generator's (GAN) or decoder's (VAE) weights, in `model.weights` order. */
  readonly weights: readonly Float32Array[];
  readonly seed: number;
  /** The first image of the slice (a multiple of SAMPLE_BATCH) and how many. */
  readonly start: number;
  readonly count: number;
  readonly backend: BackendChoice;
}

export interface GridTask extends Omit<GenerateTask, 'start'> {
  /** The .png file to write: a grid of `count` images. */
  readonly path: string;
}

/** What the pool tells its threads (sample-pool.ts). */
export interface SampleWorkerData {
  /** Run at a low priority: the thread shares the cores with training and should mostly take what it leaves. */
  readonly background?: boolean;
}

/**
 * Nice 10: on a core that training keeps busy this thread gets about a tenth
 * of it (the scheduler's weights are 110 to 1024), so a grid is slower but
 * still comes; nice 19 (a 1.5% share) starved grids until training ended on
 * a busy machine. Linux only: there a thread has its own id (read from
 * /proc/thread-self) and setpriority(2) on it affects this thread alone.
 * Elsewhere the grids run at normal priority.
 */
const BACKGROUND_NICE = 10;

function lowerPriority(): void {
  if (!existsSync('/proc/thread-self')) return;
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isSafeInteger(tid)) setPriority(tid, BACKGROUND_NICE);
}

if ((workerData as SampleWorkerData | undefined)?.background) lowerPriority();

let ready: { choice: BackendChoice; done: Promise<unknown> } | undefined;

/** This thread's backend, chosen once (the pool is made for one backend). */
async function backend(choice: BackendChoice): Promise<void> {
  ready ??= { choice, done: useBackend(choice) };
  if (ready.choice !== choice) throw errors.invalidValue('backend', `'${ready.choice}' like this pool's other tasks`, choice);
  await ready.done;
}

async function images(spec: ModelSpec, task: Omit<GenerateTask, 'backend'>): Promise<Float32Array> {
  if (task.start % SAMPLE_BATCH !== 0) throw errors.invalidValue('start', `a multiple of ${SAMPLE_BATCH}`, task.start);
  const network = spec.kind === 'gan' ? 'generator' : 'decoder';
  const dim = spec.kind === 'gan' ? spec.noiseDim : spec.latentDim;
  // The weights are overwritten at once: the seed only has to build the network.
  const part = createPart(spec, network, 0);
  try {
    part.setWeights(task.weights);
    const rng = new Rng(task.seed);
    // Image i's noise is the i-th run of `dim` normals of the seed's stream.
    const skip = new Float32Array(SAMPLE_BATCH * dim);
    for (let i = 0; i < task.start; i += SAMPLE_BATCH) rng.normals(skip);
    return await sampleImages(spec, part, task.count, rng, SAMPLE_BATCH);
  } finally {
    part.dispose();
  }
}

/** Images `start` … `start + count − 1` of `seed`'s stream, [count, H, W, C] flattened, in [0, 1]. */
export async function generate(task: GenerateTask): Promise<Float32Array> {
  await backend(task.backend);
  // Moved, not copied, back to the caller.
  return move(await images(modelSpec(task.model), task)) as Float32Array;
}

/** A grid of the first `count` images of `seed`'s stream, written to `path`; resolves with the path. */
export async function grid(task: GridTask): Promise<string> {
  await backend(task.backend);
  const spec = modelSpec(task.model);
  const out = await images(spec, { ...task, start: 0 });
  const [h, w, c] = spec.imageShape;
  await makeDirs(dirname(task.path));
  writePng(task.path, imageGrid(out, task.count, h, w, c));
  return task.path;
}

export default generate;
