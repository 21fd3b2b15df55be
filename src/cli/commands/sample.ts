/**
 * `paragen sample`: images from a trained run, as a .png grid or a .npy array.
 * A thin wrapper over `sample()` (src/eval/sample.ts).
 */
import { errors } from '../../errors.js';
import type { CommandHandler } from '../command.js';

export const sampleCommand: CommandHandler<'sample'> = async (config, io) => {
  // The CLI writes a file: without --out there would be nothing to show for the work.
  if (config.out === undefined) throw errors.missing('out', '--out <file.png|file.npy>');
  const { outputFormat, sample } = await import('../../eval/sample.js');
  outputFormat(config.out);
  const result = await sample(config, { onWarning: (message) => io.stderr(`warning: ${message}\n`) });
  const { images: _images, warnings: _warnings, ...summary } = result;
  if (config.json) {
    io.stdout(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  const what =
    result.format === 'png'
      ? `a grid of ${result.n} image${result.n === 1 ? '' : 's'}`
      : `${result.n}×${result.shape[1]}×${result.shape[2]} float32 in [0, 1]`;
  io.stdout(`${result.out}: ${what} from ${result.run} (${result.model}, step ${result.step}, seed ${result.seed})\n`);
  return 0;
};
