/**
 * `paragen train`: starts a run, renders its progress (a bar or plain lines on
 * stderr, or JSON lines on stdout), and turns signals into a clean stop: the first SIGINT/SIGTERM
 * finishes the step in flight, writes a checkpoint and exits 130/143; a second
 * signal, or a stop that takes longer than `STOP_GRACE_MS`, exits at once: a
 * signal always ends the process (the last good checkpoint stays on disk).
 */
import { EXIT, ParagenError } from '../../errors.js';
import type { CommandHandler } from '../command.js';
import { basename, dirname } from 'node:path';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import type { RunEvent } from '../../run/events.js';
import type { Dashboard } from '../../serve/dashboard.js';
import type { CliIo } from '../io.js';
import { createProgress, progressMode, unrefTimers } from '../progress.js';

/** Exit codes of a run ended by a signal (128 + signal number, as shells report). */
const SIGNAL_EXIT = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm } as const;
/** How long a stop may take to write its checkpoint before the process exits without it. */
const STOP_GRACE_MS = 60_000;

export const trainCommand: CommandHandler<'train'> = async (config, io) => {
  const { train } = await import('../../run/trainer.js');
  const mode = progressMode(config.json, io);
  const run = train(config);
  // People read progress on stderr, so stdout holds only results (or, with --json, the events).
  const progress = createProgress({
    mode,
    write: mode === 'json' ? io.stdout : io.stderr,
    timers: unrefTimers,
    columns: io.stderrColumns ?? io.columns,
  });
  run.events$.subscribe(progress);
  const dashboard = config.dashboard === undefined ? undefined : watchInDashboard(run.events$, config.dashboard, io);

  let signalled: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
    // Second signal: the user (or the supervisor) does not want to wait for the checkpoint.
    if (signalled) process.exit(SIGNAL_EXIT[signal]);
    signalled = signal;
    if (mode !== 'json') io.stderr(`\n${signal}: finishing the current step and writing a checkpoint (again to quit now)\n`);
    void run.stop();
    setTimeout(() => {
      io.stderr(`${signal}: the run did not stop within ${STOP_GRACE_MS / 1000} s; exiting, the last good checkpoint is kept\n`);
      process.exit(SIGNAL_EXIT[signal]);
    }, STOP_GRACE_MS).unref();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const summary = await run.done;
    if (mode !== 'json') {
      io.stdout(`samples: ${summary.sampleGrid}\n`);
      io.stdout(`checkpoint: ${summary.checkpoint}\n`);
    }
    return signalled ? SIGNAL_EXIT[signalled] : 0;
  } catch (error) {
    // With --json the run's `error` event already told stdout; the line goes to stderr only.
    if (mode !== 'json' || !(error instanceof ParagenError)) throw error;
    io.stderr(`${error.message}\n`);
    return error.exitCode;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await (await dashboard)?.close();
  }
};

/** `--dashboard PORT`: the dashboard over the run's parent folder, started once the run directory exists. */
async function watchInDashboard(events$: Observable<RunEvent>, port: number, io: CliIo): Promise<Dashboard | undefined> {
  // A run that fails before it starts errors its stream: then there is no dashboard, and `run.done` reports why.
  const start = await firstValueFrom(events$.pipe(filter((e) => e.type === 'start')), { defaultValue: undefined }).catch(() => undefined);
  if (!start) return undefined;
  const { startDashboard } = await import('../../serve/dashboard.js');
  const dashboard = await startDashboard({ runs: dirname(start.runDir), host: '127.0.0.1', port });
  io.stderr(`dashboard: ${dashboard.url}/runs/${encodeURIComponent(basename(start.runDir))}\n`);
  return dashboard;
}
