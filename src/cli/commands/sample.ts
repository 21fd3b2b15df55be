/**
 * `paragen sample`: images from a trained run, as a .png grid or .npy (issues 3 and 5).
 * Its body is not built yet; until it is, the command says so instead of
 * printing output that would look real.
 */
import { errors } from '../../errors.js';
import type { CommandHandler } from '../commands.js';

export const sampleCommand: CommandHandler<'sample'> = async (_config, _io) => {
  throw errors.notBuilt('sample');
};
