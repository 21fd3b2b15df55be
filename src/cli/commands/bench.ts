/**
 * `paragen bench`: a thin wrapper over `bench()` (src/bench/). Progress goes
 * to stderr, one line per measurement; the table (or, with `--json`, the
 * result) to stdout; the report files to `--out` (default `bench-out/`).
 */
import { DEFAULT_BENCH_OUT, type CommandHandler } from '../command.js';

export { DEFAULT_BENCH_OUT };

export const benchCommand: CommandHandler<'bench'> = async (config, io) => {
  const { bench, formatTable } = await import('../../bench/index.js');
  const result = await bench(
    { ...config, out: config.out ?? DEFAULT_BENCH_OUT },
    { onProgress: (line) => io.stderr(`${line}\n`) },
  );
  if (config.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
    return 0;
  }
  io.stdout(formatTable(result));
  const files = result.files;
  if (files) io.stdout(`\nwrote ${files.json}, ${files.markdown} and ${files.chart}\n`);
  return 0;
};
