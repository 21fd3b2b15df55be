/**
 * Real trained runs for the serve and dashboard tests: `paragen train` in a
 * child process for a few steps on a slice of MNIST, so every file (config,
 * metrics.jsonl, checkpoints, samples) is the trainer's own.
 */
import { join } from 'node:path';
import { paragen, type Result } from '../helpers/cli.js';
import { miniMnist } from '../eval/fixtures.js';

export const TINY = ['--batch-size', '16', '--backend', 'wasm', '--strategy', 'single', '--json'];

/** Trains `model` for `steps` steps into `<root>/<name>`; throws with the trainer's stderr if it fails. */
export async function trainTinyRun(
  root: string,
  name: string,
  model: string,
  steps: number,
  extra: readonly string[] = [],
): Promise<string> {
  const data = join(root, 'mini-mnist');
  miniMnist(data, 256, 64);
  const out = join(root, name);
  const r: Result = await paragen(['train', '--model', model, '--steps', String(steps), '--dataset', data, '--out', out, ...TINY, ...extra]);
  if (r.code !== 0) throw new Error(`paragen train failed (${r.code}): ${r.stderr}`);
  return out;
}
