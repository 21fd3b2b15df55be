/**
 * Compiled paths of the bench's own worker and child entries (under `src/bench/`).
 */
import { workerEntry } from '../actor/entry.js';

/** The compiled file of `relative` (a path under `src/bench/`, with a `.js` extension). */
export function benchEntry(relative: string, here: string = import.meta.url, exists?: (path: string) => boolean): string {
  return workerEntry(here, relative, exists);
}
