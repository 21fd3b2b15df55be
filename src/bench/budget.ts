/**
 * How long each measurement of a bench runs: `--quick` (under 2 minutes on
 * 2 cores) and the full run (under 20). A window holds at least one step, so
 * a slow model (the DCGAN, ~1–3 s a step here) gets one step per window.
 */
import { errors } from '../errors.js';
import type { ModelName } from '../domain.js';
import type { WindowBudget } from './measure.js';
import type { BenchBudget } from './types.js';

export const FULL_BUDGET: BenchBudget = {
  engine: { warmupSteps: 3, warmupSeconds: 3, windows: 5, windowSeconds: 3, maxSeconds: 60 },
  baseline: { warmupSteps: 3, warmupSeconds: 2, windows: 5, windowSeconds: 3, maxSeconds: 40 },
  // A DCGAN step on tfjs's cpu backend takes a minute or more at batch 8: one timed step, no warm-up.
  slowBaseline: { warmupSteps: 0, warmupSeconds: 0, windows: 1, windowSeconds: 0, maxSeconds: 150 },
  slowBatchSize: 8,
  peakSeconds: 1,
  peakRepeats: 3,
};

export const QUICK_BUDGET: BenchBudget = {
  engine: { warmupSteps: 2, warmupSeconds: 1, windows: 3, windowSeconds: 0.7, maxSeconds: 12 },
  baseline: { warmupSteps: 2, warmupSeconds: 1, windows: 3, windowSeconds: 0.7, maxSeconds: 8 },
  // Too short for a step: the row reports the bound it proves (under batch ÷ seconds).
  slowBaseline: { warmupSteps: 0, warmupSeconds: 0, windows: 1, windowSeconds: 0, maxSeconds: 10 },
  slowBatchSize: 8,
  peakSeconds: 0.5,
  peakRepeats: 2,
  // The scaling curve only for the cheapest model.
  scalingModels: ['vae-mlp'],
};

/** Override of a budget: any field, windows field by field. */
export interface BudgetOverride {
  readonly engine?: Partial<WindowBudget>;
  readonly baseline?: Partial<WindowBudget>;
  readonly slowBaseline?: Partial<WindowBudget>;
  readonly slowBatchSize?: number;
  readonly peakSeconds?: number;
  readonly peakRepeats?: number;
  readonly scalingModels?: readonly ModelName[];
}

/** `base` with `override` laid over it, every number checked. */
export function resolveBudget(base: BenchBudget, override: BudgetOverride = {}): BenchBudget {
  const windows = (name: 'engine' | 'baseline' | 'slowBaseline'): WindowBudget => {
    const w = { ...base[name], ...override[name] };
    count(`budget.${name}.warmupSteps`, w.warmupSteps, 0);
    count(`budget.${name}.windows`, w.windows, 1);
    seconds(`budget.${name}.warmupSeconds`, w.warmupSeconds);
    seconds(`budget.${name}.windowSeconds`, w.windowSeconds);
    seconds(`budget.${name}.maxSeconds`, w.maxSeconds);
    return w;
  };
  const budget: BenchBudget = {
    engine: windows('engine'),
    baseline: windows('baseline'),
    slowBaseline: windows('slowBaseline'),
    slowBatchSize: override.slowBatchSize ?? base.slowBatchSize,
    peakSeconds: override.peakSeconds ?? base.peakSeconds,
    peakRepeats: override.peakRepeats ?? base.peakRepeats,
    ...(override.scalingModels ?? base.scalingModels ? { scalingModels: override.scalingModels ?? base.scalingModels } : {}),
  };
  count('budget.slowBatchSize', budget.slowBatchSize, 1);
  count('budget.peakRepeats', budget.peakRepeats, 1);
  seconds('budget.peakSeconds', budget.peakSeconds);
  if (budget.peakSeconds <= 0) throw errors.invalidValue('budget.peakSeconds', 'a positive number of seconds', budget.peakSeconds);
  return budget;
}

function count(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw errors.invalidValue(field, min === 0 ? 'a non-negative integer' : 'a positive integer', value);
  }
}

function seconds(field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw errors.invalidValue(field, 'a non-negative number of seconds', value);
  }
}
