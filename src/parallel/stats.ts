/**
 * Per-step measurements of an actor engine, averaged for `engine.stats()`:
 * what `paragen bench` prints beside samples/s.
 */
import type { StepResult } from './engine.js';
import type { PipelineSchedule, StrategyPlan } from './strategy.js';

export interface EngineStats {
  readonly strategy: StrategyPlan['strategy'];
  readonly workers: number;
  readonly replicas: number;
  readonly stages: number;
  readonly microbatches: number;
  readonly schedule: PipelineSchedule;
  /** Steps measured (since creation or the last reset). */
  readonly steps: number;
  /** Mean wall time of a step's computation and update, ms (without the data loader's hand-over). */
  readonly stepMs: number;
  /** With pipeline stages: the mean measured bubble and the ideal (p−1)/(m+p−1). */
  readonly bubble?: { readonly measured: number; readonly ideal: number };
}

export class StepStats {
  readonly #plan: StrategyPlan;
  #steps = 0;
  #ms = 0;
  #bubble = 0;
  #ideal: number | undefined;

  constructor(plan: StrategyPlan) {
    this.#plan = plan;
  }

  add(ms: number, bubble: StepResult['bubble']): void {
    this.#steps += 1;
    this.#ms += ms;
    if (bubble) {
      this.#bubble += bubble.measured;
      this.#ideal = bubble.ideal;
    }
  }

  reset(): void {
    this.#steps = 0;
    this.#ms = 0;
    this.#bubble = 0;
  }

  summary(): EngineStats {
    const { strategy, workers, replicas, stages, microbatches, schedule } = this.#plan;
    const n = Math.max(this.#steps, 1);
    return {
      strategy,
      workers,
      replicas,
      stages,
      microbatches,
      schedule,
      steps: this.#steps,
      stepMs: this.#ms / n,
      ...(this.#ideal !== undefined && this.#steps > 0 ? { bubble: { measured: this.#bubble / n, ideal: this.#ideal } } : {}),
    };
  }
}
