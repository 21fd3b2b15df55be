/**
 * `paragen train`: starts a run, renders its progress (bar, plain lines or
 * JSON lines), and turns signals into a clean stop: the first SIGINT/SIGTERM
 * finishes the step in flight, writes a checkpoint and exits 130/143; a second
 * SIGINT exits at once.
 */
import { basename, dirname } from 'node:path';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import type { RunEvent } from '../../run/events.js';
import type { Dashboard } from '../../serve/dashboard.js';
import type { CommandHandler } from '../commands.js';
import type { CliIo } from '../io.js';
import { createProgress, progressMode, unrefTimers } from '../progress.js';

/** Exit codes of a run ended by a signal (128 + signal number, as shells report). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export const trainCommand: CommandHandler<'train'> = async (config, io) => {
  const { train } = await import('../../run/trainer.js');
  const mode = progressMode(config.json, io);
  const run = train(config);
  const progress = createProgress({ mode, write: io.stdout, timers: unrefTimers, columns: io.columns });
  run.events$.subscribe(progress);
  const dashboard = config.dashboard === undefined ? undefined : watchInDashboard(run.events$, config.dashboard, io);

  let signalled: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
    if (signalled) {
      // Second signal: the user does not want to wait for the checkpoint.
      if (signal === 'SIGINT') process.exit(SIGNAL_EXIT.SIGINT);
      return;
    }
    signalled = signal;
    if (mode !== 'json') io.stderr(`\n${signal}: finishing the current step and writing a checkpoint (again to quit now)\n`);
    void run.stop();
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
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await (await dashboard)?.close();
  }
};

/** `--dashboard PORT`: the dashboard over the run's parent folder, started once the run directory exists. */
async function watchInDashboard(events$: Observable<RunEvent>, port: number, io: CliIo): Promise<Dashboard | undefined> {
  const start = await firstValueFrom(events$.pipe(filter((e) => e.type === 'start')), { defaultValue: undefined });
  if (!start) return undefined;
  const { startDashboard } = await import('../../serve/dashboard.js');
  const dashboard = await startDashboard({ runs: dirname(start.runDir), host: '127.0.0.1', port });
  io.stderr(`dashboard: ${dashboard.url}/runs/${encodeURIComponent(basename(start.runDir))}\n`);
  return dashboard;
}
