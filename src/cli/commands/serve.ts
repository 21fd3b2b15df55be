/**
 * `paragen serve`: a run's generator behind HTTP (src/serve/server.ts) until
 * SIGTERM or SIGINT, which stop new connections, finish the requests in
 * flight and exit 0. The log (one JSON line per request) goes to stdout.
 */
import type { CommandHandler } from '../command.js';

export const serveCommand: CommandHandler<'serve'> = async (config, io) => {
  const { startServer } = await import('../../serve/server.js');
  const server = await startServer({
    run: config.run,
    backend: config.backend,
    host: config.listen,
    port: config.port ?? 8080,
    workers: config.workers ?? 1,
    maxBatch: config.maxBatch,
    maxWaitMs: config.maxWaitMs,
    maxN: config.maxN,
    queue: config.queue,
    watch: config.watch,
    ...(config.token === undefined ? {} : { token: config.token }),
    log: (line) => io.stdout(line),
  });
  io.stderr(`paragen serve: listening on ${server.url}, loading ${config.run}\n`);
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  try {
    const model = await Promise.race([server.loaded, stopped]);
    if (typeof model === 'object') {
      io.stderr(`paragen serve: ready, ${model.spec.name} at step ${model.step} (${model.checkpoint})\n`);
    }
  } catch (error) {
    // No model to serve (no such run, no checkpoint that verifies): say so in one line and stop.
    await server.close();
    throw error;
  }
  const signal = await stopped;
  io.stderr(`paragen serve: ${signal}, finishing the requests in flight\n`);
  await server.close();
  io.stderr('paragen serve: stopped\n');
  return 0;
};
