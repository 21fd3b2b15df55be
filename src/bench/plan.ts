/**
 * Which paragen rows a bench measures: every model × strategy × worker count
 * asked for (and no other count: `--workers 1,2` runs 1 and 2), plus the
 * 1-worker `single` reference of the data strategy's scaling curve, each
 * classified before anything starts:
 *
 * - runnable: the run config it trains with;
 * - not available: the strategy cannot run here (not built yet, say) — a row
 *   that says why, so the bench measures whatever exists and picks up the
 *   rest, unchanged, once it lands;
 * - skipped: the strategy does not take that worker count (`single` on 2,
 *   `model` on 3): listed, not a row.
 *
 * The classification asks the same code a run asks — the config parser and
 * `planStrategy` — so the bench and `paragen train` cannot disagree.
 */
import { ParagenError } from '../errors.js';
import { planStrategy } from '../parallel/index.js';
import { parseConfig } from '../run/config.js';
import type { ModelName } from '../domain.js';
import type { BenchConfig, RunConfig } from '../run/config-schema.js';
import type { BenchBudget } from './types.js';

export type BenchStrategy = BenchConfig['strategies'][number];

/** Microbatches of the pipeline rows: the target is stated for M = 8. */
export const PIPELINE_MICROBATCHES = 8;

export interface Combination {
  readonly model: ModelName;
  readonly strategy: BenchStrategy;
  readonly workers: number;
}

export type Classified =
  | (Combination & { readonly kind: 'runnable'; readonly config: RunConfig; readonly note: string })
  | (Combination & { readonly kind: 'not-available'; readonly reason: string })
  | (Combination & { readonly kind: 'skipped'; readonly reason: string });

/** Every combination of `config`, in measuring order: by model, strategy, worker count; the curve's reference last. */
export function combinations(config: BenchConfig, budget: BenchBudget): Combination[] {
  const counts = [...new Set(config.workerCounts)].sort((a, b) => a - b);
  const out: Combination[] = [];
  for (const model of config.models) {
    for (const strategy of config.strategies) for (const workers of counts) out.push({ model, strategy, workers });
    const curve = config.strategies.includes('data') && (budget.scalingModels?.includes(model) ?? true);
    if (!curve) continue;
    // The curve's 1-worker reference is `single` where data does not take 1 worker.
    if (!config.strategies.includes('single') && counts.includes(1)) out.push({ model, strategy: 'single', workers: 1 });
  }
  return out;
}

/** The run config of a combination, or why it is not run. */
export function classify(c: Combination, settings: { seed: number; backend: BenchConfig['backend'] }): Classified {
  try {
    const config = parseConfig(
      {
        model: c.model,
        strategy: c.strategy,
        workers: c.workers,
        seed: settings.seed,
        backend: settings.backend,
        // Native backends load only in a process host (tensorflow/tfjs#8388).
        host: settings.backend === 'gpu' || settings.backend === 'native' ? 'process' : 'thread',
        ...(c.strategy === 'pipeline' ? { microbatches: PIPELINE_MICROBATCHES } : {}),
        sampleEvery: 0,
        steps: 1,
      },
      'api',
      'train',
    );
    planStrategy(config);
    const note = c.strategy === 'pipeline' ? `M=${config.microbatches}, ${config.schedule}` : '';
    return { ...c, kind: 'runnable', config, note };
  } catch (error) {
    if (!(error instanceof ParagenError)) throw error;
    if (error.code === 'NOT_BUILT') return { ...c, kind: 'not-available', reason: error.message };
    // The strategy's own rule about worker counts: that combination does not exist.
    if (error.code === 'INVALID_VALUE' && error.message.startsWith('workers ')) {
      return { ...c, kind: 'skipped', reason: error.message };
    }
    return { ...c, kind: 'not-available', reason: error.message };
  }
}
