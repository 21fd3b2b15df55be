/**
 * `paragen info`: versions, cores and the backends that load here.
 * Its body is not built yet; until it is, the command says so instead of
 * printing output that would look real.
 */
import { errors } from '../../errors.js';
import type { CommandHandler } from '../commands.js';

export const infoCommand: CommandHandler<'info'> = async (_config, _io) => {
  throw errors.notBuilt('info');
};
