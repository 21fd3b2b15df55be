/**
 * The figures that relate rows: each row's FLOP rate and utilisation against
 * the matMul peak of as many workers, its speedup over the plain-tfjs
 * baseline, and the data strategy's scaling curve.
 */
import type { ModelName } from '../domain.js';
import type { BenchRow, ModelFlops, PeakPoint, ScalingCurve } from './types.js';

export function derive(
  rows: readonly BenchRow[],
  peak: readonly PeakPoint[],
  flops: readonly ModelFlops[],
  models: readonly ModelName[],
): { rows: BenchRow[]; scaling: ScalingCurve[] } {
  const peakOf = (workers: number) => peak.find((p) => p.workers === workers)?.gflops ?? null;
  const out = rows.map((row) => {
    const f = flops.find((x) => x.model === row.model);
    const rate = row.samplesPerSec;
    if (rate === null || !f) return { ...row, speedup: speedup(row, rows) };
    const executed = row.strategy === 'tfjs' ? f.baseline : f.paragen;
    const gflops = (rate * executed) / 1e9;
    // One baseline process computes on one thread: its ceiling is one worker's.
    const ceiling = peakOf(row.strategy === 'tfjs' ? 1 : row.workers);
    return {
      ...row,
      gflops,
      utilization: ceiling ? gflops / ceiling : null,
      modelUtilization: ceiling ? (rate * f.tape) / 1e9 / ceiling : null,
      speedup: speedup(row, rows),
    };
  });
  return { rows: out, scaling: models.flatMap((m) => curve(m, out)) };
}

/** Over the same model's wasm baseline, or its cpu one where wasm failed; a lower bound against a bound. */
function speedup(row: BenchRow, rows: readonly BenchRow[]): BenchRow['speedup'] {
  if (row.strategy === 'tfjs' || row.samplesPerSec === null) return null;
  for (const over of ['wasm', 'cpu'] as const) {
    const base = rows.find((r) => r.model === row.model && r.strategy === 'tfjs' && r.backend === over);
    if (!base || base.status === 'failed' || base.status === 'not-available') continue;
    if (base.samplesPerSec !== null && base.samplesPerSec > 0) {
      return { over, ratio: row.samplesPerSec / base.samplesPerSec, atLeast: false };
    }
    if (base.bound !== null && base.bound > 0) return { over, ratio: row.samplesPerSec / base.bound, atLeast: true };
  }
  return null;
}

/**
 * The data rows of `model` by worker count, from 1 worker: data on 1 worker
 * where the strategy takes it, else `single` (the same model on one worker).
 */
function curve(model: ModelName, rows: readonly BenchRow[]): ScalingCurve[] {
  const data = rows.filter((r) => r.model === model && r.strategy === 'data').sort((a, b) => a.workers - b.workers);
  if (data.length === 0) return [];
  const single = rows.find((r) => r.model === model && r.strategy === 'single' && r.workers === 1);
  const base = data.find((r) => r.workers === 1 && r.samplesPerSec !== null) ?? single;
  const series = base && base.strategy === 'single' ? [base, ...data.filter((r) => r.workers !== 1)] : data;
  const points = series.map((r) => ({ workers: r.workers, strategy: r.strategy, samplesPerSec: r.samplesPerSec, status: r.status }));
  const one = base?.samplesPerSec ?? null;
  const efficiency = series.map((r) => (one && r.samplesPerSec !== null ? r.samplesPerSec / (r.workers * one) : null));
  const measured = data.some((r) => r.samplesPerSec !== null);
  return [{ model, points, efficiency, note: measured ? '' : data[0]!.note || data[0]!.status }];
}
