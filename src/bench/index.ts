/**
 * `bench()`: training throughput by model, strategy and worker count, beside
 * plain TensorFlow.js and the machine's wasm matMul peak, measured in one run.
 * The `paragen bench` command and `npm run bench` are thin wrappers over it.
 */
import { join } from 'node:path';
import { errors } from '../errors.js';
import { writeFileAtomic } from '../run/atomic.js';
import { faultAs, fsFault, makeDirs } from '../run/fs-fault.js';
import { parseConfig } from '../run/config.js';
import type { CommandInput } from '../run/config-schema.js';
import { FULL_BUDGET, QUICK_BUDGET, resolveBudget, type BudgetOverride } from './budget.js';
import { formatMarkdown } from './report.js';
import { runBench } from './run.js';
import { formatSvg } from './svg.js';
import type { BenchResult } from './types.js';

export type {
  BenchBudget,
  BenchResult,
  BenchRow,
  MachineInfo,
  ModelFlops,
  PeakPoint,
  RowStatus,
  RowStrategy,
  ScalingCurve,
  SkippedCombination,
  WindowBudget,
} from './types.js';
export type { BudgetOverride } from './budget.js';
export { FULL_BUDGET, QUICK_BUDGET } from './budget.js';
export { commandLine, formatMarkdown, formatTable } from './report.js';
export { formatSvg } from './svg.js';

/** What `bench()` takes: the `paragen bench` settings. With `out`, the report files are written there. */
export type BenchInput = CommandInput<'bench'>;

export interface BenchHooks {
  /** Told of each measurement as it starts and ends, one line each (the CLI prints them on stderr). */
  readonly onProgress?: (line: string) => void;
  /** Replaces parts of the quick or full budget (tests, tuning). */
  readonly budget?: BudgetOverride;
  /** Milliseconds, monotonic; default `performance.now`. */
  readonly clock?: () => number;
}

/** The files a bench writes into `out`. */
export const BENCH_FILES = { json: 'bench.json', markdown: 'bench.md', chart: 'bench.svg' } as const;

/**
 * Measures training throughput: for each model × strategy × worker count the
 * strategy takes, a warm-up then the median samples/s of several windows on
 * the real MNIST; plain-tfjs baselines of each model on wasm and on cpu (in a
 * child process with none of paragen's kernels); the wasm matMul peak of 1, 2
 * … workers; each row's FLOP utilisation and speedup over plain tfjs; and the
 * data strategy's scaling over the worker counts asked for. A strategy that cannot run here
 * (not built yet, say) is a row marked `not-available` with the reason.
 *
 * With `out`, writes `bench.json` (the result), `bench.md` (a report) and
 * `bench.svg` (a chart) there. `quick: true` finishes in under 2 minutes on
 * 2 cores; the full run in under 20.
 *
 * @example
 * const result = await bench({ quick: true, models: ['vae-mlp'], out: 'bench-out' });
 * for (const row of result.rows) console.log(row.model, row.strategy, row.workers, row.samplesPerSec);
 */
export async function bench(input: BenchInput = {}, hooks: BenchHooks = {}): Promise<BenchResult> {
  const config = parseConfig(input, 'api', 'bench');
  const budget = resolveBudget(config.quick ? QUICK_BUDGET : FULL_BUDGET, hooks.budget);
  // A folder that cannot be made is found out before the minutes of measuring, not after.
  if (config.out !== undefined) await makeFolder(config.out);
  const result = await runBench({
    config,
    budget,
    onProgress: hooks.onProgress ?? (() => undefined),
    clock: hooks.clock ?? (() => performance.now()),
  });
  if (config.out === undefined) return result;
  const files = {
    json: join(config.out, BENCH_FILES.json),
    markdown: join(config.out, BENCH_FILES.markdown),
    chart: join(config.out, BENCH_FILES.chart),
  };
  const written: BenchResult = { ...result, files };
  const write = (path: string, text: string) =>
    faultAs({ path, action: 'write the benchmark report' }, () => writeFileAtomic(path, text));
  await write(files.json, `${JSON.stringify(written, null, 2)}\n`);
  await write(files.markdown, formatMarkdown(written, BENCH_FILES.chart));
  await write(files.chart, formatSvg(written));
  return written;
}

async function makeFolder(path: string): Promise<void> {
  try {
    await makeDirs(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw errors.badFile(path, 'cannot create the output folder: it, or a parent, is a file');
    throw fsFault(error, { path, action: 'create the output folder' }) ?? error;
  }
}
