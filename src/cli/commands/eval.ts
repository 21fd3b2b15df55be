/**
 * `paragen eval`: negative ELBO for a VAE; inception score and FID for a GAN (issue 3).
 * Its body is not built yet; until it is, the command says so instead of
 * printing output that would look real.
 */
import { errors } from '../../errors.js';
import type { CommandHandler } from '../commands.js';

export const evalCommand: CommandHandler<'eval'> = async (_config, _io) => {
  throw errors.notBuilt('eval');
};
