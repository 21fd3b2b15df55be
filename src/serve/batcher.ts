/**
 * Joins concurrent requests into batches for the worker pool: a batch goes
 * out when it holds `maxBatch` images, or when its oldest request has waited
 * `maxWaitMs`, and only while a worker is free (`slots` batches in flight at
 * most). Requests are never split. The wait is bounded: beyond `queue`
 * waiting requests, `submit` refuses at once (the server's 503), so memory
 * stays bounded whatever the load.
 */

export interface BatcherOptions<J, R> {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  /** Requests that may wait (not counting those in flight). */
  readonly queue: number;
  /** Batches in flight at once: the pool's threads. */
  readonly slots: number;
  /** Images a request asks for. */
  readonly size: (job: J) => number;
  /** Runs one batch; resolves with one result per job, in order. */
  readonly run: (jobs: readonly J[]) => Promise<readonly R[]>;
  /** Told of each batch as it goes out (metrics). */
  readonly onBatch?: (jobs: number, images: number) => void;
}

/** `submit` when the queue is full: the caller should come back later. */
export class QueueFullError extends Error {
  constructor(readonly queue: number) {
    super(`the queue is full (${queue} requests waiting)`);
  }
}

interface Waiting<J, R> {
  readonly job: J;
  readonly images: number;
  /** When it arrived (performance.now()). */
  readonly at: number;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export class Batcher<J, R> {
  readonly #options: BatcherOptions<J, R>;
  readonly #waiting: Waiting<J, R>[] = [];
  #waitingImages = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  constructor(options: BatcherOptions<J, R>) {
    this.#options = options;
  }

  /** Requests waiting for a worker. */
  get depth(): number {
    return this.#waiting.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Queues `job`; rejects at once with QueueFullError when `queue` requests already wait. */
  submit(job: J): Promise<R> {
    if (this.#waiting.length >= this.#options.queue) return Promise.reject(new QueueFullError(this.#options.queue));
    return new Promise<R>((resolve, reject) => {
      const images = this.#options.size(job);
      this.#waiting.push({ job, images, at: performance.now(), resolve, reject });
      this.#waitingImages += images;
      this.#pump();
    });
  }

  /** Resolves once nothing waits and nothing is in flight. */
  idle(): Promise<void> {
    if (this.#waiting.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#inFlight < this.#options.slots && this.#waiting.length > 0) {
      const left = this.#options.maxWaitMs - (performance.now() - this.#waiting[0]!.at);
      if (this.#waitingImages < this.#options.maxBatch && left > 0) {
        // Not full yet: wait for company, but no longer than maxWaitMs since the oldest came.
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, left);
        return;
      }
      this.#dispatch();
    }
  }

  #dispatch(): void {
    if (this.#waiting.length === 0 || this.#inFlight >= this.#options.slots) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch: Waiting<J, R>[] = [this.#waiting.shift()!];
    let images = batch[0]!.images;
    while (this.#waiting.length > 0 && images + this.#waiting[0]!.images <= this.#options.maxBatch) {
      const next = this.#waiting.shift()!;
      images += next.images;
      batch.push(next);
    }
    this.#waitingImages -= images;
    this.#inFlight++;
    this.#options.onBatch?.(batch.length, images);
    this.#options
      .run(batch.map((w) => w.job))
      .then(
        (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.#inFlight--;
        this.#pump();
        if (this.#waiting.length === 0 && this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
  }
}
