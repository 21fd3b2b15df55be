/**
 * Shutdown, for real: a child Node process trains a few steps on the actor
 * engine, closes it and does nothing else. It must then exit on its own —
 * no worker thread, child process, port or timer left holding it open.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (path: string) => pathToFileURL(`${root}dist/${path}`).href;

/** After close(), how long the child may take to exit before it counts as held open. */
const EXIT_DEADLINE_MS = 5000;

function script(host: 'thread' | 'process'): string {
  return `
    import { loadDataset } from ${JSON.stringify(dist('src/data/index.js'))};
    import { ActorEngine } from ${JSON.stringify(dist('src/parallel/index.js'))};
    const engine = await ActorEngine.create({
      model: 'vae-mlp', batchSize: 8, lr: 1e-3, beta1: 0.9, seed: 1, backend: 'wasm',
      strategy: 'model', host: ${JSON.stringify(host)}, maxRestarts: 3, snapshotEvery: 10, prefetch: 2,
    }, loadDataset('mnist'));
    let steps = 0;
    for (; steps < 3; steps++) await engine.step();
    await engine.close();
    console.log(JSON.stringify({ closed: true, steps }));
  `;
}

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  /** Whether the child was still running `EXIT_DEADLINE_MS` after it reported close() done (then it was killed). */
  heldOpen: boolean;
}

function train(host: 'thread' | 'process'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script(host)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let heldOpen = false;
    let deadline: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (deadline === undefined && stdout.includes('"closed":true')) {
        deadline = setTimeout(() => {
          heldOpen = true;
          child.kill('SIGKILL');
        }, EXIT_DEADLINE_MS);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, heldOpen });
    });
  });
}

describe('closing the actor engine', () => {
  it.each(['thread', 'process'] as const)('lets a process that trained on %s hosts exit on its own', async (host) => {
    const outcome = await train(host);
    expect(outcome).toEqual({ code: 0, signal: null, stdout: '{"closed":true,"steps":3}\n', heldOpen: false });
  });
});
