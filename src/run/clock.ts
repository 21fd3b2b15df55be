/**
 * Time, injected wherever behaviour depends on it (run-directory names, lock
 * start times, progress throttling), so tests can fix it.
 */

/** Milliseconds since the Unix epoch, like `Date.now`. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
