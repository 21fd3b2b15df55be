/**
 * Which stream carries what, for the real executable: people's progress and
 * errors on stderr; results on stdout; with --json, events and errors on stdout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paragen } from '../helpers/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-cli-streams-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const train = ['train', '--model', 'vae-mlp', '--batch-size', '32', '--backend', 'wasm', '--sample-every', '0'];

describe('paragen train streams', () => {
  it('piped: progress on stderr (the last step and a final line with the losses), results on stdout', async () => {
    const out = join(dir, 'run');
    const r = await paragen([...train, '--steps', '3', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`samples: ${out}/samples/3.png\ncheckpoint: ${out}/checkpoints/3\n`);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('training vae-mlp on mnist: 3 steps, batch 32');
    expect(lines.some((l) => /^epoch 1 │ step 3\/3 100% │ loss \S+ bce \S+ kl \S+ │/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^done: 3 steps in \\d+s, [\\d.,]+ samples/s; final losses loss \\S+ bce \\S+ kl \\S+; run directory ${out}$`),
    );
  }, 60_000);

  it('--json: a usage error is a line on stderr and one JSON object on stdout', async () => {
    const r = await paragen([...train, '--batch-size', '-3', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('--batch-size must be a positive integer, got -3\n');
    expect(JSON.parse(r.stdout)).toEqual({
      type: 'error',
      code: 'INVALID_VALUE',
      message: '--batch-size must be a positive integer, got -3',
      problems: ['--batch-size must be a positive integer, got -3'],
      exitCode: 2,
    });
  });

  it('--json: a fault during the run is one error event on stdout and one line on stderr', async () => {
    const r = await paragen([...train, '--steps', '3', '--json', '--out', '/proc/paragen-json']);
    expect(r.code).toBe(5);
    const line =
      '/proc/paragen-json: cannot create the run directory: the file system there does not allow it; nothing was written; ' +
      'choose an --out on a writable disk';
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { type: 'error', code: 'FILE_SYSTEM', message: line },
    ]);
  });
});
