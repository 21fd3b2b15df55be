/**
 * paragen's public API: everything a Node script needs, as named exports.
 *
 * @example
 * import { train } from 'paragen';
 * const run = train({ model: 'vae-mlp', steps: 500 });
 * for await (const e of run.events$) if (e.type === 'step') console.log(e.step, e.losses);
 * const summary = await run.done;
 */
export { train } from './run/trainer.js';
export type { Run, RunSummary, TrainInput, TrainOptions } from './run/trainer.js';
export { iterable } from './run/iterate.js';
export type { Iterable$ } from './run/iterate.js';
export type { InMemoryDataset } from './data/index.js';
export type {
  RunEvent,
  RunEventType,
  EventOf,
  StartEvent,
  StepEvent,
  CheckpointEvent,
  SampleEvent,
  RestartEvent,
  WarningEvent,
  EndEvent,
  ErrorEvent,
  WorkerId,
} from './run/events.js';
export type { RunConfig, RunConfigInput, CommandConfig, CommandInput } from './run/config-schema.js';
export type { ModelName, ActorName, StrategyChoice, HostKind } from './domain.js';
export { parseConfig, loadConfigFile } from './run/config.js';
export { sample } from './eval/sample.js';
export type { SampleInput, SampleHooks, SampleResult } from './eval/sample.js';
export { evaluate } from './eval/evaluate.js';
export type { EvaluateInput, EvaluateHooks, Evaluation, VaeEvaluationResult, GanEvaluationResult } from './eval/evaluate.js';
export { bench } from './bench/index.js';
export type { BenchInput, BenchHooks, BenchResult } from './bench/index.js';
export { useBackend, probeBackends, backendChoices } from './backend/index.js';
export type { BackendChoice, BackendName, BackendInfo, Availability } from './backend/index.js';
export { ParagenError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
