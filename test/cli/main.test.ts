/**
 * The real `paragen` executable in a child process: shebang, exit codes,
 * stdout/stderr, no stack traces.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, paragen as run, root } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; bin: { paragen: string } };

async function paragen(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await run(args);
  return { code, stdout, stderr };
}

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
      stderr: "--batch-size must be a positive integer, got -3\nunknown option '--modle' (did you mean '--model'?)\n",
    });
  });
});
