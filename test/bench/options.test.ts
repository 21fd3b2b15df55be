/**
 * Bad settings of `bench()` and `paragen bench`: one line naming the field and
 * what was expected, exit code 2, and nothing measured first.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bench, type BenchInput, type BudgetOverride } from '../../src/bench/index.js';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { ParagenError } from '../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-bench-options-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function problem(input: unknown, budget?: BudgetOverride): Promise<string> {
  const started = performance.now();
  const error = await bench(input as BenchInput, budget ? { budget } : {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ParagenError);
  expect((error as ParagenError).exitCode).toBe(2);
  // Refused up front: no peak, no baseline, no engine ran.
  expect(performance.now() - started).toBeLessThan(2000);
  return (error as ParagenError).message;
}

describe('bench() settings', () => {
  it('names the field and what it must be', async () => {
    expect(await problem({ models: [] })).toBe("models must be a non-empty list of 'dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv', got []");
    expect(await problem({ models: ['vae'] })).toBe(
      "models must be a non-empty list of 'dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv', got [\"vae\"]",
    );
    expect(await problem({ strategies: ['auto'] })).toBe(
      "strategies must be a non-empty list of 'single', 'data', 'model', 'pipeline', got [\"auto\"]",
    );
    expect(await problem({ workerCounts: [1, 0] })).toBe('workerCounts must be a non-empty list of positive integers, got [1,0]');
    expect(await problem({ quick: 'yes' })).toBe("quick must be true or false, got 'yes'");
    expect(await problem({ model: 'dcgan' })).toBe("key 'model' does not apply to bench");
  });

  it('checks a budget override field by field', async () => {
    expect(await problem({}, { engine: { windows: 0 } })).toBe('budget.engine.windows must be a positive integer, got 0');
    expect(await problem({}, { baseline: { maxSeconds: -1 } })).toBe('budget.baseline.maxSeconds must be a non-negative number of seconds, got -1');
    expect(await problem({}, { peakSeconds: 0 })).toBe('budget.peakSeconds must be a positive number of seconds, got 0');
  });

  it('refuses an output folder it cannot make before measuring anything', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(await problem({ out: join(file, 'bench') })).toBe(`${join(file, 'bench')}: cannot create the output folder: it, or a parent, is a file`);
  });
});

describe('paragen bench usage errors', () => {
  it('prints one line per problem and exits 2', async () => {
    const cases: [string[], string][] = [
      [['bench', '--workers', '0'], '--workers must be a non-empty list of positive integers, got [0]\n'],
      [['bench', '--workers', '1,two'], "--workers must be a non-empty list of positive integers, got '1,two'\n"],
      [['bench', '--models', 'vae'], '--models must be a non-empty list of \'dcgan\', \'dcgan-small\', \'vae-mlp\', \'vae-conv\', got ["vae"]\n'],
      [['bench', '--quick=maybe'], "--quick must be true or false, got 'maybe'\n"],
      [['bench', 'extra'], "unexpected argument 'extra' (paragen bench takes options only)\n"],
    ];
    for (const [argv, message] of cases) {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env: {}, isTTY: false };
      expect(await runCli(argv, io)).toBe(2);
      expect(err.join('')).toBe(message);
      expect(out.join('')).toBe('');
    }
  });
});
