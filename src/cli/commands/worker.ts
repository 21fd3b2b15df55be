/**
 * `paragen worker`: joins the cluster and waits; SIGTERM or Ctrl-C drains and
 * deregisters it (exit 0). One line (or one JSON object with --json) when it
 * is up, one when it is gone.
 */
import { parseHostPort } from '../../actor/collective/tcp-mesh.js';
import { describeWorker } from '../../cluster/membership.js';
import { startWorker } from '../../cluster/worker.js';
import type { CommandHandler } from '../command.js';
import { packageVersion } from '../version.js';

export const workerCommand: CommandHandler<'worker'> = async (config, io) => {
  const worker = await startWorker({
    connect: config.connect,
    name: config.name,
    advertise: config.advertise === undefined ? undefined : parseHostPort(config.advertise, 'advertise'),
    listen: config.tensorListen === undefined ? undefined : parseHostPort(config.tensorListen, 'listen'),
    backend: config.backend,
    version: packageVersion(),
    user: config.natsUser,
    password: config.natsPassword,
    token: config.natsToken,
    credsFile: config.natsCreds,
    tlsCa: config.tlsCa,
    tlsCert: config.tlsCert,
    tlsKey: config.tlsKey,
    log: (line) => io.stderr(`${line}\n`),
  });
  const { info } = worker;
  io.stdout(
    config.json
      ? `${JSON.stringify({ type: 'registered', ...info })}\n`
      : `worker ${describeWorker(info)} registered with ${config.connect.replace(/\/\/[^@/]*@/, '//')}: backend ${info.backend}, ${info.cores} cores\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const deregistered = await worker.drain();
  io.stdout(
    config.json
      ? `${JSON.stringify({ type: 'drained', name: info.name, signal, deregistered })}\n`
      : `worker ${info.name} drained${deregistered ? ' and deregistered' : ''} (${signal})\n`,
  );
  return 0;
};
