/**
 * The gate of issue 14: tfjs-core's own op specs for every kernel paragen
 * registers, on plain tfjs wasm and with paragen's kernels. No spec may pass
 * on plain wasm and fail with ours. The table (and every spec that fails on
 * both, with its cause) is printed: `npm run test:tfjs-core`.
 */
import { describe, expect, it } from 'vitest';
import { explain } from '../tfjs-core/known-failures.js';
import { compare, formatReport, runSuites, suiteFiles } from '../tfjs-core/suites.js';

describe('tfjs-core op suites on wasm, plain and with paragen’s kernels', () => {
  it('no spec that passes on plain wasm fails with paragen’s kernels', { timeout: 600_000 }, async () => {
    const rows = await runSuites();
    console.log(formatReport(rows, explain));
    expect(rows.map((r) => r.suite)).toEqual([...suiteFiles]);
    // Every suite really ran specs in both configurations.
    for (const r of rows) {
      expect(r.plain.passed + r.plain.failed, r.suite).toBeGreaterThan(0);
      expect(r.paragen.passed + r.paragen.failed, r.suite).toBeGreaterThan(0);
    }
    expect(rows.flatMap((r) => r.regressions.map((s) => `${r.suite}: ${s.name} — ${s.message}`))).toEqual([]);
  });
});

describe('the suite runner', () => {
  const spec = (name: string, status: 'passed' | 'failed', message = '') => ({ name, status, message });

  it('sorts specs into regressions, failures on both and fixes', () => {
    const plain = [spec('a', 'passed'), spec('b', 'failed', 'x'), spec('c', 'failed', 'y'), spec('d', 'passed')];
    const paragen = [spec('a', 'failed', 'wrong'), spec('b', 'failed', 'x'), spec('c', 'passed'), spec('d', 'passed')];
    const r = compare('s', plain, paragen);
    expect(r.plain).toEqual({ passed: 2, failed: 2 });
    expect(r.paragen).toEqual({ passed: 2, failed: 2 });
    expect(r.regressions).toEqual([spec('a', 'failed', 'wrong')]);
    expect(r.bothFail).toEqual([spec('b', 'failed', 'x')]);
    expect(r.fixed).toEqual(['c']);
  });

  it('names the suite and configuration of a child process that does not report', async () => {
    await expect(runSuites({ suites: ['ops/broadcast_to_test'], parallel: 1, timeoutMs: 1 })).rejects.toThrow(
      /^tfjs-core suite ops\/broadcast_to_test \(plain\) was killed \(SIGKILL; limit 1 ms\): /,
    );
  });

  it('counts a spec missing from paragen’s run as a regression, and pairs repeated names in order', () => {
    const r = compare('s', [spec('a', 'passed'), spec('a', 'passed'), spec('b', 'passed')], [spec('a', 'passed'), spec('a', 'failed', 'no')]);
    expect(r.regressions.map((s) => [s.name, s.message])).toEqual([
      ['a (#2)', 'no'],
      ['b', 'did not run with paragen’s kernels'],
    ]);
  });
});
