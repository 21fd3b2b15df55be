/**
 * The real `paragen` executable in a child process: shebang, exit codes,
 * stdout/stderr, no stack traces. The bin is compiled from source for the
 * test (package.json's `bin` points at the same file under dist/).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const out = join(root, 'node_modules', '.cache', 'paragen-cli-test');
const main = join(out, 'src', 'cli', 'main.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; bin: { paragen: string } };

async function paragen(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [main, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  await rm(out, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run(process.execPath, [
    tsc,
    ...['--outDir', out, '--rootDir', root, '--module', 'nodenext', '--moduleResolution', 'nodenext'],
    ...['--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node', join(root, 'src', 'cli', 'main.ts')],
  ]);
  // Under node_modules/ Node does not look further up for "type": "module"; say it here.
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
}, 120_000);

describe('the paragen executable', () => {
  it('is the file package.json names, with a shebang', () => {
    expect(pkg.bin.paragen).toBe('dist/src/cli/main.js');
    expect(readFileSync(main, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('prints the version and help with exit code 0', async () => {
    expect(await paragen('--version')).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await paragen('train', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: paragen train [options]');
  });

  it('reports bad input on stderr, one line each, exit code 2, no stack trace', async () => {
    expect(await paragen('train', '--batch-size', '-3', '--modle', 'x')).toEqual({
      code: 2,
      stdout: '',
      stderr: "batchSize must be a positive integer, got -3\nunknown option '--modle' (did you mean '--model'?)\n",
    });
  });

  it('says a command is not built yet with exit code 1', async () => {
    expect(await paragen('info')).toEqual({ code: 1, stdout: '', stderr: 'paragen info is not built yet\n' });
  });
});
