/**
 * Noticing a child process that is stopped rather than dead: SIGSTOP, a
 * debugger, a frozen cgroup. A stopped child never exits and never answers,
 * so without this its caller would wait on it forever (or, in a ring, until
 * the per-collective timeout). On Linux, `/proc/<pid>/stat` says so: state
 * `T` (stopped) or `t` (traced). Elsewhere, or when /proc cannot be read,
 * nothing is watched.
 */
import { readFile } from 'node:fs/promises';

/** How long a child may stay stopped before it is given up, ms (the cluster's missed-heartbeat limit). */
export const STOPPED_MS = 3000;

/** The state letter of `/proc/<pid>/stat` (after the parenthesised command name, which may hold spaces). */
export function procState(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  return close < 0 ? undefined : stat.slice(close + 2, close + 3) || undefined;
}

/**
 * Checks `pid` every `everyMs`; once it has been stopped for `stoppedMs`
 * without a break, calls `onStopped` (once) and stops checking. Returns a
 * function that stops checking. The timer never keeps the process alive.
 */
export function watchStopped(pid: number | undefined, onStopped: () => void, stoppedMs = STOPPED_MS, everyMs = 500): () => void {
  if (pid === undefined) return () => undefined;
  let since: number | undefined;
  let done = false;
  const timer = setInterval(() => {
    readFile(`/proc/${pid}/stat`, 'utf8').then(
      (stat) => {
        if (done) return;
        const state = procState(stat);
        if (state !== 'T' && state !== 't') {
          since = undefined;
          return;
        }
        since ??= Date.now();
        if (Date.now() - since >= stoppedMs) {
          stop();
          onStopped();
        }
      },
      // No /proc (not Linux) or the process is gone (its exit is reported elsewhere).
      () => stop(),
    );
  }, everyMs);
  timer.unref();
  const stop = (): void => {
    done = true;
    clearInterval(timer);
  };
  return stop;
}
