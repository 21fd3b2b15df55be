/**
 * A run's sample grids: `samples/<step>.png`, drawn off the training path
 * where the engine can hand over its image network's weights.
 */
import { join } from 'node:path';
import type { Subject } from 'rxjs';
import type { BackendName } from '../backend/index.js';
import { imageGrid, writePng } from '../data/index.js';
import { modelFamily } from '../domain.js';
import type { Engine } from '../parallel/index.js';
import type { RunConfig } from './config-schema.js';
import type { RunEvent } from './events.js';
import { fsFault, makeDirs } from './fs-fault.js';
import type { RunDir } from './run-dir.js';
import { SamplePool } from './sample-pool.js';

/** Images in each sample grid, and the noise seed offset that keeps grids comparable across steps. */
const GRID_IMAGES = 64;
const GRID_SEED_OFFSET = 0x5eed;

async function sampleGrid(runDir: RunDir, engine: Engine, step: number, seed: number, events: Subject<RunEvent>): Promise<string> {
  const images = await engine.sample(GRID_IMAGES, (seed + GRID_SEED_OFFSET) >>> 0);
  await makeDirs(runDir.samplesDir);
  const path = join(runDir.samplesDir, `${step}.png`);
  writePng(path, imageGrid(images, GRID_IMAGES, 28, 28, 1));
  events.next({ type: 'sample', step, path });
  return path;
}

/**
 * Sample grids as tasks off the training path. The engine hands over the
 * image network's weights (free when its supervisor's snapshot is of this
 * step), and a one-thread pool rebuilds the network, draws the grid and
 * writes the PNG while training goes on; `sample` is emitted once the file is
 * written, and the run waits for every grid before it ends. Engines without
 * `networkWeights`, and native backends (which cannot load in a worker
 * thread), sample inline as before.
 */
export class Grids {
  /** The last grid's task: each starts when the one before is written, so `sample` events come in step order. */
  #last: Promise<void> = Promise.resolve();
  #pool: SamplePool | undefined;
  #failure: { error: unknown } | undefined;

  constructor(
    private readonly runDir: RunDir,
    private readonly engine: Engine,
    private readonly config: RunConfig,
    private readonly backend: BackendName,
    private readonly events: Subject<RunEvent>,
  ) {}

  /** Starts the grid of `step`; resolves with its path once it is under way (inline: once written). */
  async write(step: number): Promise<string> {
    this.#rethrow();
    const { runDir, engine, config, events } = this;
    if (!engine.networkWeights || (this.backend !== 'wasm' && this.backend !== 'cpu')) {
      return sampleGrid(runDir, engine, step, config.seed, events);
    }
    const weights = await engine.networkWeights(modelFamily(config.model) === 'gan' ? 'generator' : 'decoder');
    const path = join(runDir.samplesDir, `${step}.png`);
    const pool = (this.#pool ??= new SamplePool(1, { background: true }));
    const source = { model: config.model, weights, backend: this.backend };
    const seed = (config.seed + GRID_SEED_OFFSET) >>> 0;
    this.#last = this.#last
      .then(() => pool.grid(source, GRID_IMAGES, seed, path))
      .then(
        () => void events.next({ type: 'sample', step, path }),
        (error: unknown) => void (this.#failure ??= { error: fsFault(error, { path, action: 'write the sample grid', runDir: runDir.path }) ?? error }),
      );
    return path;
  }

  /** Waits for every grid in flight; a grid that failed fails the run. */
  async settle(): Promise<void> {
    await this.#last;
    this.#rethrow();
  }

  async close(): Promise<void> {
    await this.#pool?.close();
  }

  #rethrow(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
