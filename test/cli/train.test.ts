/**
 * `paragen train` as a user runs it: a real child process on the real MNIST
 * data, stopped by signals and killed outright.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Child, paragen } from '../helpers/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paragen-cli-train-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = ['--model', 'vae-mlp', '--batch-size', '32', '--backend', 'wasm', '--sample-every', '0', '--json'];

describe('paragen train', () => {
  it('writes a checkpoint and exits 130 on SIGINT', async () => {
    const out = join(dir, 'run');
    const child = new Child(['train', ...base, '--steps', '100000', '--out', out]);
    await child.waitForEvent('step', (e) => (e['step'] as number) >= 3);
    child.process.kill('SIGINT');
    const { code } = await child.exited;
    expect(code).toBe(130);
    const end = await child.waitForEvent<{ steps: number }>('end');
    expect(existsSync(join(out, 'checkpoints', String(end.steps), 'manifest.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ stopped: true, steps: end.steps });
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
  });

  it('exits at once on a second SIGINT', async () => {
    const out = join(dir, 'run');
    const child = new Child(['train', ...base, '--steps', '100000', '--out', out]);
    await child.waitForEvent('step', (e) => (e['step'] as number) >= 2);
    child.process.kill('SIGINT');
    child.process.kill('SIGINT');
    expect((await child.exited).code).toBe(130);
    // The lock goes with the process, whichever way it ends.
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
  });

  it('exits 143 on SIGTERM, also after a checkpoint', async () => {
    const out = join(dir, 'run');
    const child = new Child(['train', ...base, '--steps', '100000', '--out', out]);
    await child.waitForEvent('step', (e) => (e['step'] as number) >= 2);
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(143);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
  });

  it('resumes a run killed with SIGKILL to the weights of an uninterrupted run', async () => {
    const killed = join(dir, 'killed');
    const child = new Child(['train', ...base, '--steps', '24', '--checkpoint-every', '8', '--out', killed]);
    await child.waitForEvent('checkpoint', (e) => e['step'] === 16);
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    expect(signal).toBe('SIGKILL');
    // The dead process's lock is stale and taken over; the run continues from its last good checkpoint.
    const resumed = await paragen(['train', '--resume', killed, '--json']);
    expect(resumed.code).toBe(0);
    const straight = join(dir, 'straight');
    expect((await paragen(['train', ...base, '--steps', '24', '--out', straight])).code).toBe(0);
    for (const network of ['encoder', 'decoder']) {
      const a = readFileSync(join(killed, 'checkpoints', '24', network, 'weights.bin'));
      const b = readFileSync(join(straight, 'checkpoints', '24', network, 'weights.bin'));
      expect(a.equals(b)).toBe(true);
    }
  });

  it('refuses bad input with one line per problem and exit code 2', async () => {
    const r = await paragen(['train', '--model', 'vae-mlp', '--batch-size', '0', '--lr', '-1', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('--batch-size must be a positive integer, got 0\n--lr must be a positive number, got -1\n');
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('refuses a strategy it cannot run before anything is written: exit 2, its reason, no run directory', async () => {
    const cases: [string[], string][] = [
      [
        ['--model', 'vae-mlp', '--strategy', 'data', '--workers', '8', '--batch-size', '4'],
        "--workers must be at most --batch-size (4) for strategy 'data' (a row per replica), got 8\n",
      ],
      [['--strategy', 'model', '--workers', '3'], "--workers must be 2 for strategy 'model' (one worker per network), got 3\n"],
      [
        ['--model', 'dcgan-small', '--strategy', 'pipeline', '--microbatches', '128', '--batch-size', '64'],
        '--microbatches must be at most --batch-size (64), got 128\n',
      ],
    ];
    for (const [args, message] of cases) {
      // Without --out the run directory would be runs/<model>-<time> under the working directory.
      const r = await paragen(['train', ...args], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(message);
      expect(existsSync(join(dir, 'runs'))).toBe(false);
    }
  });

  it('with --dashboard, a run that fails before it starts still ends with one error and its exit code', async () => {
    const missing = join(dir, 'missing.npy');
    const r = await paragen(['train', '--dashboard', '0', '--dataset', missing, '--json', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ type: 'error', message: `${missing}: no such file`, code: 'BAD_FILE' }]);
    expect(r.stderr).toBe(`${missing}: no such file\n`);
  });

  it('refuses a dataset file that is not valid, naming the file', async () => {
    const r = await paragen(['train', '--dataset', join(dir, 'missing.npy'), '--steps', '1', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${join(dir, 'missing.npy')}: no such file\n`);
  });
});
