/**
 * The throughput benchmark: `paragen bench` with the arguments given.
 *
 *   npm run bench                 # the full run (under 20 minutes on 2 cores)
 *   npm run bench -- --quick      # under 2 minutes
 *   npm run bench -- --models vae-mlp --strategies single,data --workers 1,2,4 --out bench-out
 *
 * Progress on stderr, the table on stdout, bench.json, bench.md and bench.svg
 * in --out (default bench-out/).
 */
import { nodeIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/cli.js';

process.exitCode = await runCli(['bench', ...process.argv.slice(2)], nodeIo());
