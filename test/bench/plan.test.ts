/** Which rows a bench measures: exactly the worker counts asked for. */
import { describe, expect, it } from 'vitest';
import { FULL_BUDGET, QUICK_BUDGET } from '../../src/bench/budget.js';
import { combinations } from '../../src/bench/plan.js';
import { parseConfig } from '../../src/run/config.js';

const config = (values: Record<string, unknown>) => parseConfig(values, 'api', 'bench');

describe('combinations', () => {
  it('runs only the worker counts of --workers 1,2, on every budget', () => {
    for (const budget of [FULL_BUDGET, QUICK_BUDGET]) {
      const list = combinations(config({ models: ['vae-mlp'], workerCounts: [1, 2] }), budget);
      expect([...new Set(list.map((c) => c.workers))]).toEqual([1, 2]);
      expect(list.filter((c) => c.strategy === 'data').map((c) => c.workers)).toEqual([1, 2]);
    }
  });

  it('adds the scaling curve\'s 1-worker single reference only where 1 worker is asked for', () => {
    const withOne = combinations(config({ models: ['vae-mlp'], strategies: ['data'], workerCounts: [1, 2] }), FULL_BUDGET);
    expect(withOne).toEqual([
      { model: 'vae-mlp', strategy: 'data', workers: 1 },
      { model: 'vae-mlp', strategy: 'data', workers: 2 },
      { model: 'vae-mlp', strategy: 'single', workers: 1 },
    ]);
    const withoutOne = combinations(config({ models: ['vae-mlp'], strategies: ['data'], workerCounts: [2] }), FULL_BUDGET);
    expect(withoutOne).toEqual([{ model: 'vae-mlp', strategy: 'data', workers: 2 }]);
  });
});
