/**
 * `paragen eval`: negative ELBO for a VAE; Inception Score and FID for a GAN,
 * next to the real data's own scores. A thin wrapper over `evaluate()`
 * (src/eval/evaluate.ts) that adds the classifier's training progress on
 * stderr, so stdout holds only the result (one JSON object with --json).
 */
import type { Evaluation } from '../../eval/evaluate.js';
import type { CommandHandler } from '../command.js';
import type { CliIo } from '../io.js';
import { formatDuration } from '../progress.js';

export const evalCommand: CommandHandler<'eval'> = async (config, io) => {
  const { evaluate } = await import('../../eval/evaluate.js');
  const { defaultCacheDir } = await import('../../eval/classifier.js');
  const progress = classifierProgress(io);
  const result = await evaluate(config, {
    classifierOptions: { cacheDir: defaultCacheDir(io.env) },
    onClassifierTraining: (plan) =>
      io.stderr(
        `training the classifier behind inceptionScore and fid, once (it is cached in ${plan.dir}): ` +
          `${plan.epochs} epochs over ${plan.images.toLocaleString('en-US')} images, a few minutes\n`,
      ),
    onClassifierProgress: progress,
    onWarning: (message) => io.stderr(`warning: ${message}\n`),
  });
  const { warnings: _warnings, ...summary } = result;
  io.stdout(config.json ? `${JSON.stringify(summary)}\n` : report(result));
  return 0;
};

/**
 * Classifier training progress on stderr: a line redrawn at most every 100 ms
 * on a terminal, a line per 10% otherwise. Throttled by the clock alone, so
 * no timer holds the process open.
 */
function classifierProgress(io: CliIo, clock: () => number = () => performance.now()): (done: number, total: number) => void {
  const tty = io.isTTY && io.env.TERM !== 'dumb' && !io.env.CI;
  const started = clock();
  let lastDraw = -Infinity;
  let lastTenth = 0;
  return (done, total) => {
    const now = clock();
    const elapsed = (now - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const percent = Math.floor((100 * done) / total);
    const line = `classifier: batch ${done}/${total} (${percent}%), ${formatDuration(elapsed)} elapsed, ETA ${formatDuration(eta)}`;
    if (tty) {
      if (done < total && now - lastDraw < 100) return;
      lastDraw = now;
      io.stderr(`\r\x1b[2K${line}${done === total ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor((10 * done) / total);
    if (tenth > lastTenth || done === total) {
      lastTenth = tenth;
      io.stderr(`${line}\n`);
    }
  };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));
const count = (n: number) => n.toLocaleString('en-US');

/** The human-readable result: one `label  value` line per figure. */
function report(r: Evaluation): string {
  const rows: [string, string][] = [['run', `${r.run} (${r.model}, step ${r.step})`]];
  if (r.kind === 'vae') {
    rows.push([
      'negElbo',
      `${fixed(r.negElbo, 2)} nats per test image (bce ${fixed(r.bce, 2)} + kl ${fixed(r.kl, 2)}), ` +
        `${count(r.testImages)} test images of ${r.dataset}, seed ${r.seed}`,
    ]);
  } else {
    rows.push(
      ['inceptionScore', `${fixed(r.inceptionScore, 3)}   (real test images: ${fixed(r.real.inceptionScore, 3)})`],
      [
        'fid',
        `${fixed(r.fid, 3)}   (real: ${fixed(r.real.fid, 3)}, ${count(r.real.trainImages)} training images against the test set)`,
      ],
      ['classes', r.classShares.map((share, label) => `${label}: ${(100 * share).toFixed(1)}%`).join('  ')],
      [
        'samples',
        `${count(r.samples)} generated (seed ${r.seed}, ${r.weights === 'ema' ? "the generator's moving average of weights" : 'the trained generator'}) ` +
          `against ${count(r.testImages)} test images of ${r.dataset}`,
      ],
      [
        'classifier',
        `test accuracy ${(100 * r.classifier.testAccuracy).toFixed(2)}%` +
          (r.classifier.path ? ` (${r.classifier.source === 'cache' ? 'cached in' : 'saved to'} ${r.classifier.path})` : ''),
      ],
    );
  }
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join('');
}
