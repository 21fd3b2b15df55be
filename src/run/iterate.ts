/**
 * An Observable as an async iterable (RxJS 7 has no `Symbol.asyncIterator`;
 * RxJS 8 will): `for await (const e of run.events$)` sees every event from
 * the moment the loop starts, ends when the stream completes, and throws
 * when it errors. Breaking out of the loop unsubscribes.
 */
import type { Observable } from 'rxjs';

/** An Observable that is also async-iterable. */
export type Iterable$<T> = Observable<T> & AsyncIterable<T>;

/** `source`, iterable with `for await`; each loop subscribes on its own. */
export function iterable<T>(source: Observable<T>): Iterable$<T> {
  return Object.assign(source, { [Symbol.asyncIterator]: () => iterate(source) });
}

function iterate<T>(source: Observable<T>): AsyncIterator<T> {
  // What arrived and was not yet asked for. A run's events are few per step, so a slow loop holds little.
  const queue: T[] = [];
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  let end: { error: unknown } | 'done' | undefined;
  const subscription = source.subscribe({
    next(value) {
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w.resolve({ value, done: false });
      } else queue.push(value);
    },
    error(error: unknown) {
      end = { error };
      if (waiting) waiting.reject(error);
      waiting = undefined;
    },
    complete() {
      end = 'done';
      if (waiting) waiting.resolve({ value: undefined, done: true });
      waiting = undefined;
    },
  });
  return {
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (end === 'done') return Promise.resolve({ value: undefined, done: true });
      if (end) return Promise.reject(end.error);
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
    return() {
      subscription.unsubscribe();
      queue.length = 0;
      end = 'done';
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}
