#!/usr/bin/env node
/**
 * The `paragen` executable (package.json `bin` → dist/src/cli/main.js).
 * It sets `process.exitCode` rather than calling `process.exit()`, so output
 * still buffered for a pipe is written before the process ends.
 */
import { runCli } from './cli.js';
import { nodeIo } from './io.js';

// `paragen --help | head -1` closes the pipe early: the reader has what it wanted, so
// EPIPE ends the output quietly instead of crashing with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await runCli(process.argv.slice(2), nodeIo());
