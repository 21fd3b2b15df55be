/**
 * Runs the specs the bundle declared and writes each one's outcome, as JSON,
 * to the file named by `TFJS_SUITE_REPORT`. Imported last in the bundle.
 * Part of the bundle that `suites.ts` builds; not run by vitest.
 */
import { writeFileSync } from 'node:fs';
import { runner } from './boot.js';
import type { SpecOutcome } from './suites.js';

const reportPath = process.env['TFJS_SUITE_REPORT'];
if (!reportPath) throw new Error('TFJS_SUITE_REPORT must name the report file');

const specs: SpecOutcome[] = [];
runner.clearReporters();
runner.addReporter({
  specDone(result) {
    const status = result.status === 'passed' ? 'passed' : result.status === 'failed' ? 'failed' : 'skipped';
    const message = result.failedExpectations[0]?.message.split('\n')[0] ?? '';
    specs.push({ name: result.fullName, status, message });
  },
});

runner.execute().then(
  () => {
    writeFileSync(reportPath, JSON.stringify(specs));
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`jasmine failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
