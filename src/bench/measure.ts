/**
 * Steady-state throughput: a warm-up (kernel setup, operator caches, JIT, the
 * data loader's prefetch filling), then several timed windows; the figure is
 * the median window's samples/s, so one slow window (a GC pause, a neighbour)
 * does not move it. The meter only sees (time, samples) pairs: engines in
 * this process and baselines in a child process are timed the same way, and
 * tests drive it with made-up times.
 */

/** How long a measurement runs. */
export interface WindowBudget {
  /** Steps before timing starts, at least. */
  readonly warmupSteps: number;
  /** Seconds of warm-up, at least (both minimums must be met). */
  readonly warmupSeconds: number;
  /** Timed windows. */
  readonly windows: number;
  /** Seconds per window, at least; a window also holds at least one step. */
  readonly windowSeconds: number;
  /** Wall-clock bound from the first step: past it, the windows closed so far are the result. */
  readonly maxSeconds: number;
}

/** What a measurement found. */
export interface Throughput {
  /** Median over windows of samples/s; 0 when no step was timed. */
  readonly samplesPerSec: number;
  /** Each closed window's samples/s, in order. */
  readonly windows: readonly number[];
  /** Steps run, warm-up included. */
  readonly steps: number;
  /**
   * samples/s over every step from the start, warm-up included: a lower
   * bound on the steady figure, all there is when no window closed.
   */
  readonly overallSamplesPerSec: number;
  readonly warmupSteps: number;
  /** Seconds from the start to the last step. */
  readonly seconds: number;
  /** True when `maxSeconds` cut the measurement short. */
  readonly truncated: boolean;
}

/**
 * Feed it each step's end time and samples; it says when it has seen enough.
 *
 * @example
 * const meter = new WindowMeter(budget, clock());
 * while (!meter.done) meter.record(clock(), (await engine.step()).samples);
 * const { samplesPerSec } = meter.result();
 */
export class WindowMeter {
  readonly #budget: WindowBudget;
  readonly #start: number;
  #last: number;
  #steps = 0;
  #samples = 0;
  #warmupSteps = 0;
  /** Start of the open window (time, samples); undefined during warm-up. */
  #window: { time: number; steps: number; samples: number } | undefined;
  readonly #rates: number[] = [];
  #truncated = false;
  #done = false;

  /** `start` in milliseconds, on the clock `record` will be given. */
  constructor(budget: WindowBudget, start: number) {
    this.#budget = budget;
    this.#start = start;
    this.#last = start;
    // No warm-up asked for (a row too slow to afford one): the first step is timed.
    if (budget.warmupSteps === 0 && budget.warmupSeconds === 0) this.#window = { time: start, steps: 0, samples: 0 };
  }

  get done(): boolean {
    return this.#done;
  }

  /** Past the warm-up: the next step recorded is timed. */
  get measuring(): boolean {
    return this.#window !== undefined && !this.#done;
  }

  /** A step ended at `time` (ms) having consumed `samples`. */
  record(time: number, samples: number): void {
    if (this.#done) return;
    this.#steps++;
    this.#samples += samples;
    this.#last = time;
    const b = this.#budget;
    const window = this.#window;
    if (window === undefined) {
      if (this.#steps >= b.warmupSteps && time - this.#start >= b.warmupSeconds * 1000) {
        this.#warmupSteps = this.#steps;
        this.#window = { time, steps: 0, samples: 0 };
      }
    } else {
      window.steps++;
      window.samples += samples;
      const elapsed = time - window.time;
      if (elapsed >= b.windowSeconds * 1000) {
        this.#rates.push((window.samples / Math.max(elapsed, 1e-9)) * 1000);
        this.#window = { time, steps: 0, samples: 0 };
        if (this.#rates.length >= b.windows) this.#done = true;
      }
    }
    if (!this.#done && time - this.#start >= b.maxSeconds * 1000) {
      this.#truncated = true;
      this.#done = true;
      this.#closePartial();
    }
  }

  /** Ends early (a deadline): a partly filled window counts if no window closed. */
  stop(): void {
    if (this.#done) return;
    this.#truncated = true;
    this.#done = true;
    this.#closePartial();
  }

  result(): Throughput {
    return {
      samplesPerSec: median(this.#rates),
      windows: [...this.#rates],
      steps: this.#steps,
      overallSamplesPerSec: this.#steps === 0 ? 0 : (this.#samples / Math.max(this.#last - this.#start, 1e-9)) * 1000,
      warmupSteps: this.#warmupSteps,
      seconds: (this.#last - this.#start) / 1000,
      truncated: this.#truncated,
    };
  }

  #closePartial(): void {
    const window = this.#window;
    if (this.#rates.length === 0 && window && window.steps > 0) {
      this.#rates.push((window.samples / Math.max(this.#last - window.time, 1e-9)) * 1000);
    }
  }
}

/** The median (mean of the middle two for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
