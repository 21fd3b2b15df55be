/**
 * What `bench()` returns and writes as `bench.json`. Plain data (numbers,
 * strings, arrays), so the JSON file and the in-memory result are one thing.
 */
import type { ModelName } from '../domain.js';
import type { WindowBudget } from './measure.js';
import type { PeakPoint } from './peak.js';

export type { PeakPoint } from './peak.js';
export type { WindowBudget } from './measure.js';

/** A paragen strategy, or `tfjs`: plain TensorFlow.js in one process (the baseline). */
export type RowStrategy = 'single' | 'data' | 'model' | 'pipeline' | 'tfjs';

/**
 * - `ok`: measured.
 * - `partial`: stopped by its time bound before every window closed; the figure is what was measured.
 * - `failed`: it ran and threw (`note` has the error).
 * - `not-available`: the strategy cannot run here (`note` says why, e.g. not built yet).
 */
export type RowStatus = 'ok' | 'partial' | 'failed' | 'not-available';

export interface BenchRow {
  readonly model: ModelName;
  readonly strategy: RowStrategy;
  readonly backend: string;
  readonly workers: number;
  readonly batchSize: number;
  readonly status: RowStatus;
  /** Median window samples/s; null unless ok or partial. */
  readonly samplesPerSec: number | null;
  /** When not one step finished within the time bound: the samples/s it proves the row is under. */
  readonly bound: number | null;
  /** Each window's samples/s. */
  readonly windows: readonly number[];
  /** Steps run, warm-up included, and of those the warm-up. */
  readonly steps: number;
  readonly warmupSteps: number;
  /** FLOPs run per second (executed count, with recomputation), in GFLOP/s. */
  readonly gflops: number | null;
  /** `gflops` over the wasm matMul peak of as many workers (0–1). */
  readonly utilization: number | null;
  /** The same with the model's own FLOPs (one tape, no recomputation): comparable across implementations. */
  readonly modelUtilization: number | null;
  /**
   * samples/s over the same model's plain-tfjs baseline on wasm (or on cpu
   * where wasm failed); `atLeast` when the baseline has only an upper bound.
   */
  readonly speedup: { readonly over: 'wasm' | 'cpu'; readonly ratio: number; readonly atLeast: boolean } | null;
  /**
   * Strategies with pipeline stages: the share of a timed step each stage sat
   * idle (mean), beside the ideal (p−1)/(m+p−1), as the engine reports it.
   */
  readonly bubble: { readonly measured: number; readonly ideal: number } | null;
  /**
   * Cores' worth of CPU that other processes used while the row ran (Linux;
   * null elsewhere): above ~0.2 on a small machine, the figure reads low.
   */
  readonly otherCpu: number | null;
  /** Settings beyond the columns (`pipeline M=8 1f1b`), the error, or why the row is not available. */
  readonly note: string;
  /** Wall-clock seconds of the row, set-up included. */
  readonly seconds: number;
}

/** A combination a strategy does not take (e.g. `model` on 3 workers): listed, not measured. */
export interface SkippedCombination {
  readonly model: ModelName;
  readonly strategy: RowStrategy;
  readonly workers: number;
  readonly reason: string;
}

/** The data strategy's samples/s by worker count, for one model. */
export interface ScalingCurve {
  readonly model: ModelName;
  /** By worker count; the 1-worker point is `single` where data does not take 1 worker. */
  readonly points: readonly {
    readonly workers: number;
    readonly strategy: RowStrategy;
    readonly samplesPerSec: number | null;
    readonly status: RowStatus;
  }[];
  /** Efficiency at each point: samples/s ÷ (workers × the 1-worker figure). */
  readonly efficiency: readonly (number | null)[];
  /** Why there is no curve, when the strategy is not available. */
  readonly note: string;
}

/** FLOPs per training sample of a model (see src/bench/flops.ts for the count). */
export interface ModelFlops {
  readonly model: ModelName;
  /** One tape: what the model needs. */
  readonly tape: number;
  /** What paragen runs, with its recomputation. */
  readonly paragen: number;
  /** What the plain-tfjs baseline runs. */
  readonly baseline: number;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly platform: string;
  readonly node: string;
  readonly tfjs: string;
}

/** The budgets a run used (quick or full, or a caller's). */
export interface BenchBudget {
  /** paragen engine rows. */
  readonly engine: WindowBudget;
  /** Baselines. */
  readonly baseline: WindowBudget;
  /** Baselines too slow for windows (a GAN on tfjs's cpu backend): steps at a small batch until the bound. */
  readonly slowBaseline: WindowBudget;
  /** The batch of slow baselines (the DCGAN on cpu: 8). */
  readonly slowBatchSize: number;
  /** Seconds each matMul peak try multiplies for, and tries per worker count (the best counts). */
  readonly peakSeconds: number;
  readonly peakRepeats: number;
  /** Models that get the data strategy's scaling curve (all when undefined); its points are the worker counts asked for. */
  readonly scalingModels?: readonly ModelName[];
}

export interface BenchResult {
  readonly format: 'paragen-bench';
  /** ISO 8601, when the run started. */
  readonly date: string;
  /** The settings, as `paragen bench` flags would give them. */
  readonly settings: {
    readonly quick: boolean;
    readonly models: readonly ModelName[];
    readonly strategies: readonly string[];
    readonly workerCounts: readonly number[];
    readonly seed: number;
    readonly backend: string;
  };
  readonly machine: MachineInfo;
  /** The backend paragen's rows ran on, and why. */
  readonly backend: { readonly name: string; readonly reason: string };
  /** wasm matMul 512×512, GFLOP/s, by worker count. */
  readonly peak: readonly PeakPoint[];
  readonly flops: readonly ModelFlops[];
  readonly rows: readonly BenchRow[];
  readonly scaling: readonly ScalingCurve[];
  readonly skipped: readonly SkippedCombination[];
  readonly budget: BenchBudget;
  readonly wallSeconds: number;
  /** Files written (with `out`). */
  readonly files?: { readonly json: string; readonly markdown: string; readonly chart: string };
}
