/**
 * `paragen train`: starts a run, renders its progress (bar, plain lines or
 * JSON lines), and turns signals into a clean stop: the first SIGINT/SIGTERM
 * finishes the step in flight, writes a checkpoint and exits 130/143; a second
 * SIGINT exits at once.
 */
import type { CommandHandler } from '../command.js';
import { createProgress, progressMode, unrefTimers } from '../progress.js';

/** Exit codes of a run ended by a signal (128 + signal number, as shells report). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export const trainCommand: CommandHandler<'train'> = async (config, io) => {
  const { train } = await import('../../run/trainer.js');
  const mode = progressMode(config.json, io);
  const run = train(config);
  const progress = createProgress({ mode, write: io.stdout, timers: unrefTimers, columns: io.columns });
  run.events$.subscribe(progress);

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
  }
};
