/**
 * The window meter on made-up step times: warm-up, windows, the median, the
 * time bound. Times are injected, so nothing here depends on the machine.
 */
import { describe, expect, it } from 'vitest';
import { median, WindowMeter, type WindowBudget } from '../../src/bench/measure.js';

const budget: WindowBudget = { warmupSteps: 2, warmupSeconds: 1, windows: 3, windowSeconds: 1, maxSeconds: 60 };

/** Feeds steps ending at `times` (seconds) with `samples` each, until the meter is done. */
function feed(meter: WindowMeter, times: readonly number[], samples = 10): number {
  let fed = 0;
  for (const t of times) {
    if (meter.done) break;
    meter.record(t * 1000, samples);
    fed++;
  }
  return fed;
}

describe('WindowMeter', () => {
  it('skips the warm-up, then takes the median of its windows', () => {
    const meter = new WindowMeter(budget, 0);
    // Warm-up: 2 steps and 1 s (steps end at 0.5, 1.0). Windows then close at 2.0 (two steps), 3.0 (one), 4.0 (two).
    const fed = feed(meter, [0.5, 1.0, 1.5, 2.0, 3.0, 3.5, 4.0, 9]);
    expect(fed).toBe(7);
    expect(meter.done).toBe(true);
    const r = meter.result();
    expect(r.windows).toEqual([20, 10, 20]);
    expect(r.samplesPerSec).toBe(20);
    expect(r).toMatchObject({ steps: 7, warmupSteps: 2, truncated: false, seconds: 4 });
    expect(r.overallSamplesPerSec).toBeCloseTo(70 / 4, 10);
  });

  it('needs both warm-up minimums: steps and seconds', () => {
    const meter = new WindowMeter(budget, 0);
    feed(meter, [0.1, 0.2, 0.3]);
    expect(meter.measuring).toBe(false);
    feed(meter, [1.2]);
    expect(meter.measuring).toBe(true);
    expect(meter.result().warmupSteps).toBe(4);
  });

  it('stops at the time bound, keeping the windows closed so far', () => {
    const meter = new WindowMeter({ ...budget, maxSeconds: 4 }, 0);
    feed(meter, [0.5, 1.0, 2.0, 4.5, 20]);
    const r = meter.result();
    expect(r).toMatchObject({ truncated: true, windows: [10, 4], steps: 4, samplesPerSec: 7 });
  });

  it('counts a partly filled window when the bound comes before any window closed', () => {
    const meter = new WindowMeter({ ...budget, windowSeconds: 100 }, 0);
    feed(meter, [0.5, 1.0, 3.0]);
    meter.stop();
    expect(meter.result()).toMatchObject({ truncated: true, windows: [5], samplesPerSec: 5 });
  });

  it('times the first step when no warm-up is asked for', () => {
    const meter = new WindowMeter({ warmupSteps: 0, warmupSeconds: 0, windows: 1, windowSeconds: 0, maxSeconds: 100 }, 0);
    expect(meter.measuring).toBe(true);
    feed(meter, [80], 8);
    expect(meter.result()).toMatchObject({ windows: [0.1], samplesPerSec: 0.1, warmupSteps: 0, truncated: false });
  });

  it('reports nothing measured as 0 samples/s', () => {
    const meter = new WindowMeter(budget, 0);
    meter.stop();
    expect(meter.result()).toMatchObject({ samplesPerSec: 0, overallSamplesPerSec: 0, steps: 0, windows: [] });
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });
});
