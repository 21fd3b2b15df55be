/**
 * `paragen dashboard`: the runs of a folder in the browser
 * (src/serve/dashboard.ts) until SIGTERM or SIGINT, then exit 0.
 */
import type { CommandHandler } from '../command.js';

export const dashboardCommand: CommandHandler<'dashboard'> = async (config, io) => {
  const { startDashboard } = await import('../../serve/dashboard.js');
  const dashboard = await startDashboard({
    runs: config.runs,
    host: config.listen,
    port: config.port ?? 8081,
    log: (line) => io.stdout(line),
  });
  io.stderr(`paragen dashboard: ${config.runs} at ${dashboard.url}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  io.stderr(`paragen dashboard: ${signal}, stopping\n`);
  await dashboard.close();
  return 0;
};
