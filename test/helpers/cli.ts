/**
 * Runs the compiled `paragen` executable (`dist/src/cli/main.js`, what
 * package.json's `bin` names) in a child process. `npm test` builds first;
 * run `npm run build` before `npx vitest` on its own.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished } from 'vitest';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const main = join(root, 'dist', 'src', 'cli', 'main.js');

function ensureBuilt(): void {
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `paragen ...args` to completion. */
export function paragen(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  ensureBuilt();
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: options.cwd ?? root, env: options.env ?? process.env }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** A running `paragen` whose stdout is read line by line. */
export class Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: { test: (line: string) => boolean; resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  #buffer = '';
  /** Set once stdout and stderr are closed: no line is to come. */
  #ended: Error | undefined;

  constructor(args: readonly string[], cwd = root) {
    ensureBuilt();
    this.process = spawn(process.execPath, [main, ...args], { cwd });
    // A test that times out never reaches its own cleanup: a training child of 100,000 steps would outlive it.
    if (expect.getState().currentTestName !== undefined) onTestFinished(() => void this.process.kill('SIGKILL'));
    this.process.stdout.setEncoding('utf8');
    this.process.stdout.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let newline: number;
      while ((newline = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    this.process.stderr.setEncoding('utf8');
    this.process.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })));
    // A line awaited from a child that has ended will never come: the wait fails with what the child said, instead of hanging the test.
    this.process.on('close', (code, signal) => {
      this.#ended = new Error(`paragen ${args.join(' ')} ended (${signal ?? `exit ${code}`}) before the awaited line; its stderr: ${this.stderr.trim() || '(none)'}`);
      for (const waiter of this.#waiters) waiter.reject(this.#ended);
      this.#waiters = [];
    });
  }

  /** Resolves with the first line (already seen or to come) that passes `test`; rejects, with its stderr, if the child ends first. */
  waitFor(test: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => this.#waiters.push({ test, resolve, reject }));
  }

  /** Resolves with the first JSON event of `type` that passes `test`. */
  async waitForEvent<T extends Record<string, unknown>>(type: string, test: (e: T) => boolean = () => true): Promise<T> {
    const line = await this.waitFor((l) => {
      try {
        const e = JSON.parse(l) as T;
        return e['type'] === type && test(e);
      } catch {
        return false;
      }
    });
    return JSON.parse(line) as T;
  }
}
