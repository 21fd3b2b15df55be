/**
 * Data by demand: a bounded prefetch between a producer and one consumer.
 *
 * At most `capacity` items are outstanding — being produced or produced and
 * not yet taken. Each `take()` frees one slot, and only then is one more
 * item started, so a slow consumer slows the producer and nothing buffers
 * without bound. This is the `request(n)` credit scheme of reactive streams:
 * the consumer's takes are its credits.
 *
 * @example
 * const ahead = new Prefetcher(() => loadNext(), 4);
 * const first = await ahead.take(); // and the fifth item starts loading
 */
import { errors } from '../errors.js';

/** A prefetcher's counters; `outstanding` never exceeds `capacity`. */
export interface PrefetchStats {
  readonly capacity: number;
  /** Items being produced or produced and not yet taken. */
  readonly outstanding: number;
  /** Of those, the ones still being produced. */
  readonly producing: number;
  /** Items whose production started since the last `reset` (or creation). */
  readonly started: number;
  /** Items taken since the last `reset` (or creation). */
  readonly taken: number;
}

export class Prefetcher<T> {
  readonly capacity: number;
  readonly #produce: () => Promise<T>;
  /** Outstanding items in order; each entry settles when its item is produced. */
  #queue: Promise<T>[] = [];
  #producing = 0;
  #started = 0;
  #taken = 0;
  /** Bumped by `reset`, so productions started before it do not count after it. */
  #generation = 0;
  #idle: (() => void)[] = [];

  /**
   * `produce` is called once per item, in order, whenever a slot is free;
   * it starts at once, so `capacity` items are prefetched from the start.
   */
  constructor(produce: () => Promise<T>, capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw errors.invalidValue('prefetch', 'a positive integer', capacity);
    }
    this.capacity = capacity;
    this.#produce = produce;
    this.#fill();
  }

  /** The next item, in production order. Frees a slot: one more item starts. */
  take(): Promise<T> {
    const next = this.#queue.shift();
    if (!next) throw errors.internal('prefetcher has no outstanding item (capacity is at least 1)');
    this.#taken++;
    this.#fill();
    return next;
  }

  /** Drops every outstanding item and starts afresh (after a seek). */
  reset(): void {
    this.#generation++;
    this.#queue = [];
    this.#producing = 0;
    this.#started = 0;
    this.#taken = 0;
    this.#settle();
    this.#fill();
  }

  stats(): PrefetchStats {
    return {
      capacity: this.capacity,
      outstanding: this.#queue.length,
      producing: this.#producing,
      started: this.#started,
      taken: this.#taken,
    };
  }

  /** Resolves with the counters once nothing is being produced: the prefetch is full, and waits for a take. */
  settled(): Promise<PrefetchStats> {
    if (this.#producing === 0) return Promise.resolve(this.stats());
    return new Promise((resolve) => this.#idle.push(() => resolve(this.stats())));
  }

  #fill(): void {
    while (this.#queue.length < this.capacity) {
      const generation = this.#generation;
      this.#producing++;
      this.#started++;
      const item = this.#produce();
      const done = () => {
        if (generation !== this.#generation) return;
        this.#producing--;
        this.#settle();
      };
      item.then(done, done);
      this.#queue.push(item);
    }
  }

  #settle(): void {
    if (this.#producing !== 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }
}
