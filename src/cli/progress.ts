/**
 * Training progress for people and for programs, from a run's event stream:
 *
 * - `tty`: one progress bar line (epoch, step, losses, samples/s, ETA),
 *   redrawn at most every 100 ms; other events print above it.
 * - `plain` (stdout is a pipe or a file): a step line at most every few
 *   seconds, plus every start, checkpoint, sample, restart, warning and end.
 * - `json` (`--json`): every event as one JSON object per line.
 *
 * The reporter is an RxJS-compatible observer: `run.events$.subscribe(reporter)`.
 * Time and timers are injected so the throttling is tested deterministically;
 * the real timer is `unref`'d so a pending redraw never holds the process open.
 * Errors are not printed here in text modes: the CLI prints the error the run
 * rejects with, once.
 */
import { systemClock, type Clock } from '../run/clock.js';
import type { RunEvent, StartEvent, StepEvent } from '../run/events.js';
import type { CliIo } from './io.js';

export type ProgressMode = 'tty' | 'plain' | 'json';

/** The timer functions the TTY renderer uses for its trailing redraw. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers that do not keep the event loop alive. */
export const unrefTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ProgressOptions {
  readonly mode: ProgressMode;
  readonly write: (text: string) => void;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Terminal width; the bar line is cut to fit so a redraw never wraps. 0 or none: 80. */
  readonly columns?: number;
  /** Least time between two bar redraws on a TTY. */
  readonly redrawMs?: number;
  /** Least time between two step lines in plain mode. */
  readonly plainEveryMs?: number;
}

/** Receives a run's events; shaped as an RxJS observer. */
export interface ProgressReporter {
  next(event: RunEvent): void;
  error(error: unknown): void;
  complete(): void;
}

/**
 * `json` with `--json`; `tty` when stdout and stderr (where the bar is drawn)
 * are both an interactive terminal; `plain` otherwise (pipes, files, CI, TERM=dumb).
 */
export function progressMode(json: boolean, io: Pick<CliIo, 'isTTY' | 'stderrIsTTY' | 'env'>): ProgressMode {
  if (json) return 'json';
  return io.isTTY && (io.stderrIsTTY ?? io.isTTY) && io.env.TERM !== 'dumb' && !io.env.CI ? 'tty' : 'plain';
}

/** Columns a terminal reports; some ptys report 0 (or nothing), and then the bar assumes 80. */
export function terminalColumns(columns: number | undefined): number {
  return columns !== undefined && Number.isFinite(columns) && columns > 0 ? columns : 80;
}

/** `42s`, `3m 05s`, `1h 02m`; `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatLoss(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(1) : value.toPrecision(4);
}

function formatRate(samplesPerSec: number): string {
  return samplesPerSec >= 100 ? Math.round(samplesPerSec).toLocaleString('en-US') : samplesPerSec.toFixed(1);
}

const CLEAR_LINE = '\r\x1b[2K';
const BAR_WIDTH = 20;

/** The status of a step: what the bar shows and what a plain line says. */
function statusLine(start: StartEvent | undefined, step: StepEvent, bar: boolean): string {
  const total = start?.totalSteps;
  const parts: string[] = [];
  const epochs = start?.config.epochs;
  parts.push(`epoch ${step.epoch}${epochs === undefined ? '' : `/${epochs}`}`);
  if (total !== undefined && total > 0) {
    const fraction = Math.min(1, step.step / total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const meter = bar ? ` ${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}` : '';
    parts.push(`step ${step.step}/${total}${meter} ${Math.floor(fraction * 100)}%`);
  } else {
    parts.push(`step ${step.step}`);
  }
  const losses = Object.entries(step.losses).map(([name, value]) => `${name} ${formatLoss(value)}`);
  if (losses.length > 0) parts.push(losses.join(' '));
  parts.push(`${formatRate(step.samplesPerSec)} samples/s`);
  if (start && total !== undefined) {
    const stepsPerSec = step.samplesPerSec / start.config.batchSize;
    parts.push(`ETA ${formatDuration(stepsPerSec > 0 ? (total - step.step) / stepsPerSec : Number.NaN)}`);
  }
  return parts.join(' │ ');
}

/** `loss 98.12 bce 90.01 kl 8.11`, or '' before the first step. */
function lossesText(step: StepEvent | undefined): string {
  return step ? Object.entries(step.losses).map(([name, value]) => `${name} ${formatLoss(value)}`).join(' ') : '';
}

/** A line for every event other than `step`, or undefined for events text modes do not print. */
function eventLine(event: RunEvent, start: StartEvent | undefined, last?: StepEvent): string | undefined {
  switch (event.type) {
    case 'start': {
      const { config, backend, strategy, totalSteps, startStep, placement, runDir, hosts } = event;
      const length = config.steps !== undefined ? `${config.steps} steps` : `${config.epochs} epoch(s), ${totalSteps} steps`;
      const where = Object.entries(placement).map(([actor, worker]) => `${actor}→${worker}`).join(' ');
      return [
        `training ${config.model} on ${config.dataset}: ${length}, batch ${config.batchSize}`,
        `  backend ${backend.name} (${backend.reason})`,
        `  strategy ${strategy.reason}; placement${strategy.name === 'data' ? ' of replica 0 (each replica has its own workers)' : ''} ${where || 'none'}`,
        ...(hosts ? [`  cluster: ${hosts.map((host, worker) => `worker ${worker} on ${host}`).join(', ')}`] : []),
        `  run directory ${runDir}${startStep > 0 ? `, resuming after step ${startStep}` : ''}`,
      ].join('\n');
    }
    case 'checkpoint':
      return `checkpoint at step ${event.step}: ${event.path}`;
    case 'sample':
      return `samples at step ${event.step}: ${event.path}`;
    case 'restart': {
      const budget = start ? ` of ${start.config.maxRestarts}` : '';
      return `restarted ${event.actor} (restart ${event.attempt}${budget}): ${event.cause}`;
    }
    case 'warning':
      return `warning: ${event.message}`;
    case 'end': {
      const losses = lossesText(last);
      return (
        `done: ${event.steps} steps in ${formatDuration(event.wallSeconds)}, ` +
        `${formatRate(event.samplesPerSec)} samples/s; ${losses ? `final losses ${losses}; ` : ''}run directory ${event.runDir}`
      );
    }
    case 'step':
    case 'error':
      return undefined;
  }
}

function jsonReporter(write: (text: string) => void): ProgressReporter {
  let ended = false;
  return {
    next(event) {
      if (event.type === 'end' || event.type === 'error') ended = true;
      write(`${JSON.stringify(event)}\n`);
    },
    // A program reading the lines must always see how the run ended, even if the stream failed without an event.
    error(error) {
      if (ended) return;
      ended = true;
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      write(`${JSON.stringify({ type: 'error', message, code: typeof code === 'string' ? code : 'INTERNAL' })}\n`);
    },
    complete() {},
  };
}

/**
 * Plain lines: a step line at most every `everyMs`, and always the last step
 * of each epoch and of the run, so a short piped run still shows where it got.
 */
function plainReporter(write: (text: string) => void, clock: Clock, everyMs: number): ProgressReporter {
  let start: StartEvent | undefined;
  let lastPrint = -Infinity;
  let last: StepEvent | undefined;
  let lastShown = true;
  const show = (step: StepEvent) => {
    lastPrint = clock();
    lastShown = true;
    write(`${statusLine(start, step, false)}\n`);
  };
  // The step before an epoch boundary or the end, if the throttle held it back.
  const flush = () => {
    if (last && !lastShown) show(last);
  };
  return {
    next(event) {
      if (event.type === 'start') start = event;
      if (event.type === 'step') {
        if (last && event.epoch !== last.epoch) flush();
        last = event;
        lastShown = false;
        if (clock() - lastPrint >= everyMs || event.step === start?.totalSteps) show(event);
        return;
      }
      if (event.type === 'end' || event.type === 'error') flush();
      const line = eventLine(event, start, last);
      if (line !== undefined) write(`${line}\n`);
    },
    error() {},
    complete() {},
  };
}

function ttyReporter(
  write: (text: string) => void,
  clock: Clock,
  timers: Timers,
  redrawMs: number,
  columns: number,
): ProgressReporter {
  let start: StartEvent | undefined;
  let latest: StepEvent | undefined;
  let shown = false;
  let lastDraw = -Infinity;
  let timer: unknown;

  const fit = (line: string) => (line.length < columns ? line : `${line.slice(0, Math.max(0, columns - 2))}…`);
  const draw = () => {
    if (!latest) return;
    lastDraw = clock();
    shown = true;
    write(`${CLEAR_LINE}${fit(statusLine(start, latest, true))}`);
  };
  const cancelTimer = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  const finishLine = () => {
    cancelTimer();
    if (shown) write('\n');
    shown = false;
  };

  return {
    next(event) {
      if (event.type === 'start') start = event;
      if (event.type === 'step') {
        latest = event;
        const wait = lastDraw + redrawMs - clock();
        if (wait <= 0) {
          cancelTimer();
          draw();
        } else if (timer === undefined) {
          // Trailing redraw, so the bar ends up showing the newest step even if no event follows.
          timer = timers.setTimeout(() => {
            timer = undefined;
            draw();
          }, wait);
        }
        return;
      }
      if (event.type === 'end') {
        cancelTimer();
        draw();
        finishLine();
      }
      const line = eventLine(event, start, latest);
      if (line === undefined) {
        if (event.type === 'error') finishLine();
        return;
      }
      write(`${shown ? CLEAR_LINE : ''}${line}\n`);
      // Put the bar back under the message.
      if (shown) write(`${CLEAR_LINE}${fit(statusLine(start, latest!, true))}`);
    },
    error: finishLine,
    complete: finishLine,
  };
}

/** A reporter for one run. */
export function createProgress(options: ProgressOptions): ProgressReporter {
  const clock = options.clock ?? systemClock;
  switch (options.mode) {
    case 'json':
      return jsonReporter(options.write);
    case 'plain':
      return plainReporter(options.write, clock, options.plainEveryMs ?? 5000);
    case 'tty':
      return ttyReporter(
        options.write,
        clock,
        options.timers ?? unrefTimers,
        options.redrawMs ?? 100,
        terminalColumns(options.columns),
      );
  }
}
