/**
 * What a command may touch of the outside world. Injected, so the CLI is
 * unit-tested without spawning and without capturing the real streams.
 */

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (progress bar) or a pipe/file (plain lines). */
  readonly isTTY: boolean;
  /** Terminal width, when stdout is a terminal. */
  readonly columns?: number;
  /** Whether stderr, where progress for people goes, is a terminal; as stdout when not given. */
  readonly stderrIsTTY?: boolean;
  /** stderr's terminal width; 0 in some ptys (then 80 is assumed). */
  readonly stderrColumns?: number;
}

/** The real process's streams and environment. */
export function nodeIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    columns: process.stdout.columns,
    stderrIsTTY: process.stderr.isTTY === true,
    stderrColumns: process.stderr.columns,
  };
}
