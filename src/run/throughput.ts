/** Steady-state and recent throughput of a run. */

/** Recent steps that the per-step throughput averages over. */
const RATE_WINDOW = 20;
/** Steps excluded from the steady-state throughput: the first pay for kernel setup, operator caches and JIT. */
const WARMUP_STEPS = 3;

/** Throughput bookkeeping: a sliding window for step events, and a steady-state figure after warm-up. */
export class Throughput {
  readonly #clock: () => number;
  readonly #times: number[] = [];
  readonly #samples: number[] = [];
  #steadyFrom: { time: number; samples: number } | undefined;
  #total = 0;
  #steps = 0;
  readonly #started: number;

  constructor(clock: () => number) {
    this.#clock = clock;
    this.#started = clock();
  }

  tick(samples: number): void {
    const now = this.#clock();
    this.#steps++;
    this.#total += samples;
    this.#times.push(now);
    this.#samples.push(this.#total);
    if (this.#times.length > RATE_WINDOW + 1) {
      this.#times.shift();
      this.#samples.shift();
    }
    if (this.#steps === WARMUP_STEPS) this.#steadyFrom = { time: now, samples: this.#total };
  }

  recentRate(): number {
    const n = this.#times.length;
    if (n < 2) return this.#steps === 0 ? 0 : (this.#total / Math.max(1e-9, this.#clock() - this.#started)) * 1000;
    return ((this.#samples[n - 1]! - this.#samples[0]!) / Math.max(1e-9, this.#times[n - 1]! - this.#times[0]!)) * 1000;
  }

  steadyRate(): number {
    const now = this.#times.at(-1) ?? this.#clock();
    const from = this.#steadyFrom && this.#total > this.#steadyFrom.samples ? this.#steadyFrom : { time: this.#started, samples: 0 };
    return ((this.#total - from.samples) / Math.max(1e-9, now - from.time)) * 1000;
  }
}
