/**
 * `paragen bench`: the throughput benchmark (issue 5).
 * Its body is not built yet; until it is, the command says so instead of
 * printing output that would look real.
 */
import { errors } from '../../errors.js';
import type { CommandHandler } from '../commands.js';

export const benchCommand: CommandHandler<'bench'> = async (_config, _io) => {
  throw errors.notBuilt('bench');
};
