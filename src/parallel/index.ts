/** Parallel strategies: an engine per strategy, chosen from the run's config. */
import type { Dataset } from '../data/index.js';
import { ActorEngine, type ActorEngineHooks, type ActorEngineOptions } from './actor-engine.js';
import type { Engine } from './engine.js';

export type { Engine, EngineEvent, StateFiles, StepResult } from './engine.js';
export { checkImageShape, stepRng } from './engine-input.js';
export type { EngineOptions } from './engine-input.js';
export { ActorEngine } from './actor-engine.js';
export type { ActorEngineHooks, ActorEngineOptions } from './actor-engine.js';
export { planStrategy, replicaPlacement } from './strategy.js';
export type { ActorStrategy, PipelineSchedule, StrategyInput, StrategyPlan } from './strategy.js';
export type { EngineStats } from './stats.js';
export { idealBubble, stageZeroOrder } from './pipeline.js';
export type { StageOp } from './pipeline.js';

/**
 * The engine for `config`'s strategy — `single`, `data`, `model`,
 * `pipeline` (and data × pipeline), or what `auto` picks — on the actor
 * engine over `config.host`.
 *
 * The tests check every strategy against `LocalEngine` (`test/reference/`),
 * every network in the calling thread, which they pass as `train(config, { engine })`.
 */
export async function createEngine(config: ActorEngineOptions, dataset: Dataset, hooks?: ActorEngineHooks): Promise<Engine> {
  return ActorEngine.create(config, dataset, hooks);
}
