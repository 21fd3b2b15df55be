/**
 * The coordinator's side of a cluster run: it finds `workers` idle
 * `paragen worker`s over NATS, places the run on them (handing each the
 * run's random token), gives the engine one remote slot per worker, and
 * watches them. A worker that misses its heartbeats, leaves or disconnects
 * is lost: its host dies with that cause, so the supervisor restarts the
 * run at a new epoch; the revived slot asks again where to connect — the
 * same worker if it still answers for this run (only its process died),
 * else a replacement found and placed within `waitMs`.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subscription } from 'rxjs';
import { newRunToken } from '../actor/collective/tcp-mesh.js';
import type { SlotFactory } from '../actor/index.js';
import { errors } from '../errors.js';
import { connectCluster, type ClusterCredentials } from './connect.js';
import { describeWorker, listWorkers, watchWorkers, workerSubject, type WorkerInfo } from './membership.js';
import { RemoteSlot, type RemoteTarget } from './remote-host.js';
import type { PlaceReply, PlaceRequest } from './worker.js';

export interface ClusterOptions extends ClusterCredentials {
  /** The NATS server (`nats://HOST:4222`). */
  readonly url: string;
  /** Workers the run needs. */
  readonly workers: number;
  /** How long to wait for them, and for a replacement after a loss, ms (default 30000). */
  readonly waitMs?: number;
  /**
   * Machines the run may shrink to (default `workers`: none): a lost worker with no
   * replacement within `waitMs` has its slot moved to a surviving worker of the run.
   */
  readonly minWorkers?: number;
  /** A worker silent this long is lost, ms (default 3000). */
  readonly heartbeatTimeoutMs?: number;
  /** Told when a worker is lost and when another takes its place. */
  readonly onChange?: (message: string) => void;
}

const REQUEST_MS = 2000;

export class Cluster {
  /** This run's id on the workers (`place`, `release`, their logs). */
  readonly run: string;
  /** What every host connection presents. */
  readonly token: string;
  readonly #nc: NatsConnection;
  readonly #options: ClusterOptions;
  readonly #waitMs: number;
  /** By worker slot: the worker hosting it now. */
  readonly #hosts: WorkerInfo[];
  readonly #slots = new Map<number, RemoteSlot>();
  readonly #lost = new Set<string>();
  readonly #watches: Subscription[] = [];
  #closed = false;

  private constructor(nc: NatsConnection, options: ClusterOptions, placement: PlaceRequest, hosts: WorkerInfo[]) {
    this.run = placement.run;
    this.token = placement.token;
    this.#nc = nc;
    this.#options = options;
    this.#waitMs = options.waitMs ?? 30_000;
    this.#hosts = hosts;
    for (const host of hosts) this.#watch(host);
  }

  /** Connects, and waits until `workers` workers have taken the run; one line naming those found when they don't. */
  static async join(options: ClusterOptions): Promise<Cluster> {
    const nc = await connectCluster(options.url, { ...options, name: 'paragen-coordinator' });
    const waitMs = options.waitMs ?? 30_000;
    const placement = { run: randomBytes(6).toString('hex'), token: newRunToken() };
    try {
      const placed = await placeMany(nc, options.workers, waitMs, placement, new Set(), (found, busy) =>
        errors.workersMissing(options.workers, found, waitMs, busy),
      );
      return new Cluster(nc, options, placement, placed);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** The worker hosting each slot now, by slot. */
  get hosts(): readonly WorkerInfo[] {
    return this.#hosts;
  }

  /** The engine's slots: slot w on `hosts[w]`, revived where `#target` says. */
  readonly slot: SlotFactory = (worker) => {
    const slot = new RemoteSlot(worker, () => this.#target(worker), this.token);
    this.#slots.set(worker, slot);
    return slot;
  };

  /** Releases every worker and closes the NATS connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of this.#watches) watch.unsubscribe();
    await Promise.allSettled([...new Set(this.#hosts)].map((h) => request(this.#nc, h, 'release', { run: this.run, token: this.token })));
    await this.#nc.close();
  }

  /** Where slot `worker` connects: its worker while that still holds this run, else a replacement. */
  async #target(worker: number): Promise<RemoteTarget> {
    const current = this.#hosts[worker];
    if (!current) throw errors.internal(`no worker for slot ${worker}`);
    if (!this.#lost.has(current.id)) {
      const reply = await request(this.#nc, current, 'place', { run: this.run, token: this.token }).catch(() => undefined);
      if (reply?.ok) return targetOf(current);
      this.#lost.add(current.id);
    }
    // Neither a worker of this run nor one already lost.
    const skip = new Set([...this.#hosts.map((h) => h.id), ...this.#lost]);
    const survivors = [...new Set(this.#hosts.filter((h) => !this.#lost.has(h.id)))];
    const { workers, minWorkers = workers } = this.#options;
    const canShrink = minWorkers < workers;
    const replacement = await placeMany(this.#nc, 1, this.#waitMs, { run: this.run, token: this.token }, skip, (_found, busy) =>
      errors.noReplacement(
        describeWorker(current),
        this.#waitMs,
        busy,
        canShrink ? `, and the ${survivors.length} machines left are fewer than --min-workers ${minWorkers}` : '',
      ),
    ).then(
      ([found]) => found,
      (error: unknown) => {
        if (canShrink && survivors.length >= Math.max(1, minWorkers)) return undefined;
        throw error;
      },
    );
    if (replacement) {
      this.#hosts[worker] = replacement;
      this.#watch(replacement);
      this.#options.onChange?.(`worker ${worker}: ${describeWorker(replacement)} replaces ${describeWorker(current)}`);
      return targetOf(replacement);
    }
    // Fewer machines: the survivor hosting the fewest slots takes this one too; the ranks, and so the numbers, stay.
    const load = (h: WorkerInfo) => this.#hosts.filter((x) => x === h).length;
    const host = survivors.reduce((a, b) => (load(b) < load(a) ? b : a));
    this.#hosts[worker] = host;
    this.#options.onChange?.(
      `worker ${worker}: no idle worker replaced ${describeWorker(current)} within ${this.#waitMs} ms; ${describeWorker(host)} hosts it too (${survivors.length} of ${workers} machines, --min-workers ${minWorkers})`,
    );
    return targetOf(host);
  }

  #watch(host: WorkerInfo): void {
    const watch = watchWorkers(this.#nc, [host], { heartbeatTimeoutMs: this.#options.heartbeatTimeoutMs ?? 3000 }).subscribe(({ worker, cause }) => {
      this.#lost.add(worker.id);
      if (this.#closed) return;
      // A machine of a shrunk run may host several slots: each is lost.
      this.#hosts.forEach((host, slot) => {
        if (host !== worker) return;
        this.#options.onChange?.(`worker ${slot}: ${describeWorker(worker)} lost: ${cause}`);
        this.#slots.get(slot)?.lose(`(remote ${describeWorker(worker)}) lost: ${cause}`);
      });
    });
    this.#watches.push(watch);
  }
}

const targetOf = (w: WorkerInfo): RemoteTarget => ({ address: { host: w.host, port: w.port }, label: describeWorker(w) });

async function request(nc: NatsConnection, worker: WorkerInfo, op: 'place' | 'release' | 'status', body: PlaceRequest): Promise<PlaceReply> {
  const msg = await nc.request(workerSubject(worker.id, op), JSON.stringify(body), { timeout: REQUEST_MS });
  return msg.json<PlaceReply>();
}

/**
 * Places `placement` on `count` idle workers (by name, skipping the ids in
 * `skip`), asking again every 200 ms until `waitMs`; then releases those it
 * placed and throws `timeout(placed, busy)` with their names.
 */
async function placeMany(
  nc: NatsConnection,
  count: number,
  waitMs: number,
  placement: PlaceRequest,
  skip: ReadonlySet<string>,
  timeout: (placed: string[], busy: string[]) => Error,
): Promise<WorkerInfo[]> {
  const deadline = Date.now() + waitMs;
  const placed: WorkerInfo[] = [];
  const busy = new Map<string, WorkerInfo>();
  for (;;) {
    for (const worker of await listWorkers(nc)) {
      if (placed.length === count) break;
      if (skip.has(worker.id) || placed.some((p) => p.id === worker.id)) continue;
      const reply = await request(nc, worker, 'place', placement).catch(() => undefined);
      if (reply?.ok) {
        placed.push(worker);
        busy.delete(worker.id);
      } else busy.set(worker.id, worker);
    }
    if (placed.length === count) return placed;
    if (Date.now() >= deadline) {
      await Promise.allSettled(placed.map((w) => request(nc, w, 'release', placement)));
      throw timeout(placed.map(describeWorker), [...busy.values()].map(describeWorker));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now()))));
  }
}
