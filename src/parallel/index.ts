/** Parallel strategies: an engine per strategy, chosen from the run's config. */
import type { Dataset } from '../data/index.js';
import type { RunConfig } from '../run/config-schema.js';
import type { Engine } from './engine.js';
import { LocalEngine } from './local.js';

export type { Engine, EngineEvent, StateFiles, StepResult } from './engine.js';
export { LocalEngine, checkImageShape, stepRng } from './local.js';

/** The engine for `config`'s strategy. */
export async function createEngine(config: RunConfig, dataset: Dataset): Promise<Engine> {
  return new LocalEngine(config, dataset);
}
