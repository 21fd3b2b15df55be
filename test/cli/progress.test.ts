import { describe, expect, it } from 'vitest';
import {
  createProgress,
  formatDuration,
  progressMode,
  terminalColumns,
  unrefTimers,
  type ProgressOptions,
  type Timers,
} from '../../src/cli/progress.js';
import { parseConfig } from '../../src/run/config.js';
import type { EventOf, RunEvent } from '../../src/run/events.js';

const CLEAR = '\r\x1b[2K';

/** A clock and timers the test moves by hand. */
function fakeTime() {
  let now = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  let nextId = 1;
  const scheduled: number[] = [];
  const timers: Timers = {
    setTimeout(callback, ms) {
      scheduled.push(ms);
      const id = nextId++;
      pending.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    clock: () => now,
    timers,
    scheduled,
    pending: () => pending.size,
    /** Moves time to `t`, firing timers that are due. */
    to(t: number) {
      now = t;
      for (const [id, timer] of [...pending]) {
        if (timer.at <= now) {
          pending.delete(id);
          timer.callback();
        }
      }
    },
  };
}

function reporter(mode: ProgressOptions['mode'], extra: Partial<ProgressOptions> = {}) {
  const time = fakeTime();
  const chunks: string[] = [];
  const progress = createProgress({ mode, write: (t) => void chunks.push(t), clock: time.clock, timers: time.timers, ...extra });
  return { progress, time, chunks, output: () => chunks.join('') };
}

const start: EventOf<'start'> = {
  type: 'start',
  config: parseConfig({ model: 'dcgan-small', epochs: 2, batchSize: 100 }),
  placement: { dataLoader: 0, generator: 0, discriminator: 1 },
  backend: { name: 'wasm', reason: 'no GPU; wasm SIMD available' },
  strategy: { name: 'model', workers: 2, reason: 'model: chosen explicitly' },
  runDir: 'runs/dcgan-small-20250101-000000',
  totalSteps: 1000,
  startStep: 0,
};
const step = (n: number, samplesPerSec = 1000): EventOf<'step'> => ({
  type: 'step',
  step: n,
  epoch: n > 500 ? 2 : 1,
  losses: { discriminator: 1.386294, generator: 0.693147 },
  samplesPerSec,
});
const end: EventOf<'end'> = { type: 'end', steps: 1000, samplesPerSec: 1234.4, wallSeconds: 125, runDir: start.runDir };
const startText = [
  'training dcgan-small on mnist: 2 epoch(s), 1000 steps, batch 100',
  '  backend wasm (no GPU; wasm SIMD available)',
  '  strategy model: chosen explicitly; placement dataLoader→0 generator→0 discriminator→1',
  '  run directory runs/dcgan-small-20250101-000000',
  '',
].join('\n');

/** 10 steps/s (1000 samples/s at batch 100): 1000 - n steps to go. */
const status = (n: number, bar?: string) =>
  `epoch ${n > 500 ? 2 : 1}/2 │ step ${n}/1000${bar ? ` ${bar}` : ''} ${Math.floor(n / 10)}% │ ` +
  `discriminator 1.386 generator 0.6931 │ 1,000 samples/s │ ETA ${formatDuration((1000 - n) / 10)}`;

describe('progress on a terminal', () => {
  it('redraws the bar at most every 100 ms, with a trailing redraw for the newest step', () => {
    const { progress, time, chunks } = reporter('tty', { columns: 200 });
    progress.next(start);
    expect(chunks.join('')).toBe(startText);
    chunks.length = 0;

    progress.next(step(1));
    expect(chunks).toEqual([`${CLEAR}${status(1, '░'.repeat(20))}`]);
    time.to(30);
    progress.next(step(2));
    time.to(60);
    progress.next(step(3));
    expect(chunks).toHaveLength(1);
    expect(time.scheduled).toEqual([70]);
    time.to(100);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toBe(`${CLEAR}${status(3, '░'.repeat(20))}`);
    time.to(250);
    progress.next(step(500));
    expect(chunks[2]).toBe(`${CLEAR}${status(500, `${'█'.repeat(10)}${'░'.repeat(10)}`)}`);
    expect(time.scheduled).toEqual([70]);
    expect(time.pending()).toBe(0);
  });

  it('prints other events above the bar and puts the bar back', () => {
    const { progress, time, chunks } = reporter('tty', { columns: 200 });
    progress.next(start);
    progress.next(step(100));
    chunks.length = 0;
    time.to(10);
    progress.next({ type: 'checkpoint', step: 100, path: 'runs/x/checkpoints/100' });
    progress.next({ type: 'restart', actor: 'generator', cause: 'thread exited with code 1', attempt: 1 });
    progress.next({ type: 'warning', message: 'skipped a batch with a NaN loss', step: 101 });
    expect(chunks).toEqual([
      `${CLEAR}checkpoint at step 100: runs/x/checkpoints/100\n`,
      `${CLEAR}${status(100, `${'█'.repeat(2)}${'░'.repeat(18)}`)}`,
      `${CLEAR}restarted generator (restart 1 of 3): thread exited with code 1\n`,
      `${CLEAR}${status(100, `${'█'.repeat(2)}${'░'.repeat(18)}`)}`,
      `${CLEAR}warning: skipped a batch with a NaN loss\n`,
      `${CLEAR}${status(100, `${'█'.repeat(2)}${'░'.repeat(18)}`)}`,
    ]);
  });

  it('ends with the final bar, a newline and a summary, cancelling a pending redraw', () => {
    const { progress, time, chunks } = reporter('tty', { columns: 200 });
    progress.next(start);
    progress.next(step(999));
    time.to(20);
    progress.next(step(1000));
    expect(time.pending()).toBe(1);
    chunks.length = 0;
    progress.next(end);
    progress.complete();
    expect(time.pending()).toBe(0);
    expect(chunks).toEqual([
      `${CLEAR}${status(1000, '█'.repeat(20))}`,
      '\n',
      'done: 1000 steps in 2m 05s, 1,234 samples/s; final losses discriminator 1.386 generator 0.6931; ' +
        'run directory runs/dcgan-small-20250101-000000\n',
    ]);
  });

  it('draws on a terminal that reports 0 columns as if it had 80', () => {
    for (const columns of [0, undefined]) {
      const { progress, chunks } = reporter('tty', { columns });
      progress.next(start);
      chunks.length = 0;
      progress.next(step(7));
      const line = chunks[0]!.slice(CLEAR.length);
      expect(line).toBe(`${status(7, '░'.repeat(20)).slice(0, 78)}…`);
      expect(line).toMatch(/^epoch 1\/2 │ step 7\/1000 /);
    }
    expect(terminalColumns(0)).toBe(80);
    expect(terminalColumns(Number.NaN)).toBe(80);
    expect(terminalColumns(132)).toBe(132);
  });

  it('cuts the bar to the terminal width so a redraw never wraps', () => {
    const { progress, chunks } = reporter('tty', { columns: 40 });
    progress.next(step(1));
    expect(chunks[0]).toBe(`${CLEAR}${'epoch 1 │ step 1 │ discriminator 1.386 g'.slice(0, 38)}…`);
  });

  it('finishes the line on an error, leaving the message to the CLI', () => {
    const { progress, output } = reporter('tty');
    progress.next(step(1));
    progress.next({ type: 'error', message: 'NaN', code: 'NON_FINITE' });
    progress.error(new Error('NaN'));
    expect(output().endsWith('\n')).toBe(true);
    expect(output()).not.toContain('NaN');
  });

  it('uses timers that never hold the process open', () => {
    const handle = unrefTimers.setTimeout(() => {}, 60_000) as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    unrefTimers.clearTimeout(handle);
  });
});

describe('progress as plain lines', () => {
  it('prints a step line at most every 5 seconds, and every other event', () => {
    const { progress, time, output } = reporter('plain');
    progress.next(start);
    progress.next(step(1));
    time.to(4_999);
    progress.next(step(50));
    progress.next({ type: 'sample', step: 50, path: 'runs/x/samples/50.png' });
    time.to(5_000);
    progress.next(step(51));
    time.to(6_000);
    progress.next(step(60));
    progress.next(end);
    progress.complete();
    expect(output()).toBe(
      startText +
        `${status(1)}\n` +
        'samples at step 50: runs/x/samples/50.png\n' +
        `${status(51)}\n` +
        // The step the run ended on, which the throttle held back, then the losses it ended with.
        `${status(60)}\n` +
        'done: 1000 steps in 2m 05s, 1,234 samples/s; final losses discriminator 1.386 generator 0.6931; ' +
        'run directory runs/dcgan-small-20250101-000000\n',
    );
  });

  it('prints the last step of every epoch and of the run, however short the run', () => {
    const { progress, time, output } = reporter('plain');
    progress.next(start);
    for (let n = 1; n <= 1000; n++) {
      time.to(n);
      progress.next(step(n));
    }
    progress.next(end);
    expect(output()).toBe(
      startText +
        `${status(1)}\n` +
        `${status(500)}\n` +
        `${status(1000)}\n` +
        'done: 1000 steps in 2m 05s, 1,234 samples/s; final losses discriminator 1.386 generator 0.6931; ' +
        'run directory runs/dcgan-small-20250101-000000\n',
    );
  });

  it('says when a run resumes', () => {
    const { progress, output } = reporter('plain');
    progress.next({ ...start, startStep: 300, config: parseConfig({ steps: 1000 }) });
    expect(output()).toContain('mnist: 1000 steps, batch 32\n');
    expect(output()).toContain('  run directory runs/dcgan-small-20250101-000000, resuming after step 300\n');
  });

  it('says whose placement it shows when there are data-parallel replicas', () => {
    const { progress, output } = reporter('plain');
    const strategy = { name: 'data', workers: 2, reason: 'data: chosen explicitly' };
    progress.next({ ...start, strategy, placement: { dataLoader: 0, generator: 0, discriminator: 0 } });
    expect(output()).toContain(
      '  strategy data: chosen explicitly; placement of replica 0 (each replica has its own workers) dataLoader→0 generator→0 discriminator→0\n',
    );
  });
});

describe('progress as JSON lines', () => {
  it('writes every event as one JSON object per line', () => {
    const { progress, output } = reporter('json');
    const events: RunEvent[] = [start, step(1), step(2), { type: 'checkpoint', step: 2, path: 'p' }, end];
    for (const event of events) progress.next(event);
    progress.complete();
    expect(output().split('\n').slice(0, -1).map((line) => JSON.parse(line))).toEqual(events);
  });

  it('ends with an error line when the stream fails without an error event', () => {
    const failed = reporter('json');
    failed.progress.next(step(1));
    failed.progress.error(Object.assign(new Error('actor generator failed: boom'), { code: 'ACTOR_FAILED' }));
    expect(failed.output().split('\n')[1]).toBe(
      '{"type":"error","message":"actor generator failed: boom","code":"ACTOR_FAILED"}',
    );
    const reported = reporter('json');
    reported.progress.next({ type: 'error', message: 'x', code: 'STOPPED' });
    reported.progress.error(new Error('x'));
    expect(reported.output()).toBe('{"type":"error","message":"x","code":"STOPPED"}\n');
  });
});

describe('progressMode and formatDuration', () => {
  it('picks json, tty or plain', () => {
    expect(progressMode(true, { isTTY: true, env: {} })).toBe('json');
    expect(progressMode(false, { isTTY: true, env: {} })).toBe('tty');
    expect(progressMode(false, { isTTY: false, env: {} })).toBe('plain');
    // The bar is drawn on stderr: both streams must be a terminal.
    expect(progressMode(false, { isTTY: true, stderrIsTTY: false, env: {} })).toBe('plain');
    expect(progressMode(false, { isTTY: false, stderrIsTTY: true, env: {} })).toBe('plain');
    expect(progressMode(false, { isTTY: true, stderrIsTTY: true, env: {} })).toBe('tty');
    expect(progressMode(false, { isTTY: true, env: { CI: 'true' } })).toBe('plain');
    expect(progressMode(false, { isTTY: true, env: { TERM: 'dumb' } })).toBe('plain');
  });

  it('formats durations', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--');
  });
});
