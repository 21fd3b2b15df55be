/**
 * Supervision around a step runner: snapshots every `snapshotEvery` steps,
 * and when a worker dies under a request, a restart within the culprit's
 * budget — revive its worker, roll every actor back to the snapshot, replay
 * the steps done since, and run the interrupted work again.
 *
 * The guarantee: data order and step plans come from seeded state, and each
 * worker computes deterministically, so after a restart the state is
 * exactly — bit for bit — that of a run that never crashed. No step is lost
 * or counted twice: replayed steps are not reported again, and the work in
 * flight is retried. An error an actor throws (as opposed to its worker
 * dying) is not retried: replay would meet it again.
 *
 * When a budget is spent, every later call rejects with
 * `errors.actorFailed(actor, cause)`; the last snapshot stays readable, so
 * the caller can still save a consistent state of `stateStep` steps.
 */
import { ActorDied, type Death } from '../actor/index.js';
import { errors, type ParagenError } from '../errors.js';

/** What the supervisor drives: a runner that steps, snapshots and rolls back. */
export interface Supervised<S extends { readonly step: number }> {
  /** Steps done. */
  readonly done: number;
  /** Step `done + 1`. */
  step(): Promise<unknown>;
  /** Waits for the work a step left in flight; its failure is thrown here. */
  settle(): Promise<void>;
  /** Lets everything in flight settle and forgets it: before a rollback or a restore. */
  drain(): Promise<void>;
  /** The state now, kept in this thread so that it outlives any worker. */
  capture(): Promise<S>;
  /** Every actor back to `snapshot` (`done` becomes its step). */
  rollback(snapshot: S): Promise<void>;
  /** A fresh host for a dead worker, its actors rebuilt from their inits. */
  revive(worker: number): Promise<void>;
}

export interface SupervisorOptions {
  /** Restarts allowed per actor before the run fails. */
  readonly maxRestarts: number;
  /** Steps between snapshots. */
  readonly snapshotEvery: number;
  /** Told of every restart, before it is made. */
  readonly onRestart: (restart: { readonly actor: string; readonly cause: string; readonly attempt: number }) => void;
}

export class Supervisor<S extends { readonly step: number }> {
  readonly #runner: Supervised<S>;
  readonly #options: SupervisorOptions;
  readonly #restarts = new Map<string, number>();
  #snapshot: S | undefined;
  #failure: ParagenError | undefined;
  #busy = false;
  #closed = false;

  constructor(runner: Supervised<S>, options: SupervisorOptions) {
    this.#runner = runner;
    this.#options = options;
  }

  /** The last snapshot (after `takeSnapshot`). */
  get snapshot(): S | undefined {
    return this.#snapshot;
  }

  /** Set once a restart budget is spent. */
  get failure(): ParagenError | undefined {
    return this.#failure;
  }

  /** The step `save()` describes: the steps done, or — after a failure — the last snapshot's. */
  get stateStep(): number {
    return this.#failure ? (this.#snapshot?.step ?? 0) : this.#runner.done;
  }

  /** One step, and a snapshot when it is due. */
  step<R>(): Promise<R> {
    return this.run(() => this.#advance() as Promise<R>);
  }

  async takeSnapshot(): Promise<void> {
    await this.#runner.settle();
    this.#snapshot = await this.#runner.capture();
  }

  /**
   * Runs `work` under supervision, one call at a time: a death rolls every
   * actor back to the snapshot, replays the steps done since, and runs
   * `work` again.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw errors.actorStopped('coordinator');
    if (this.#busy) throw errors.internal('the engine runs steps, saves, restores and samples one at a time; await the previous call');
    this.#busy = true;
    const target = this.#runner.done;
    try {
      for (;;) {
        try {
          while (this.#runner.done < target) await this.#advance();
          await this.#runner.settle();
          return await work();
        } catch (error) {
          if (!(error instanceof ActorDied)) throw error;
          await this.#recover(error.death);
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Refuses every later call but reading the snapshot. */
  close(): void {
    this.#closed = true;
  }

  async #advance(): Promise<unknown> {
    const result = await this.#runner.step();
    if (this.#runner.done % this.#options.snapshotEvery === 0) await this.takeSnapshot();
    return result;
  }

  /** Charges the culprit a restart, revives its worker, rolls everything back to the snapshot. */
  async #recover(first: Death): Promise<void> {
    let death = first;
    for (;;) {
      const name = death.actor ?? 'unknown';
      const attempt = (this.#restarts.get(name) ?? 0) + 1;
      const { maxRestarts } = this.#options;
      if (attempt > maxRestarts) {
        const spent = maxRestarts === 0 ? 'no restarts allowed' : `restart budget of ${maxRestarts} spent`;
        this.#failure = errors.actorFailed(name, `${death.cause} (${spent})`);
        throw this.#failure;
      }
      this.#restarts.set(name, attempt);
      this.#options.onRestart({ actor: name, cause: death.cause, attempt });
      await this.#runner.drain();
      try {
        await this.#runner.revive(death.worker);
        await this.#runner.rollback(this.#snapshot!);
        return;
      } catch (error) {
        if (!(error instanceof ActorDied)) throw error;
        death = error.death;
      }
    }
  }
}
