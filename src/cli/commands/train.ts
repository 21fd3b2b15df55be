/**
 * `paragen train`: trains through the actor runtime and reports progress (issues 3, 4 and 6).
 * Its body is not built yet; until it is, the command says so instead of
 * printing output that would look real.
 */
import { errors } from '../../errors.js';
import type { CommandHandler } from '../commands.js';

export const trainCommand: CommandHandler<'train'> = async (_config, _io) => {
  throw errors.notBuilt('train');
};
