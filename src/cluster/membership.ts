/**
 * Who is in the cluster. A worker registers as an instance of the NATS
 * service `paragen-worker` (services API: `$SRV.PING/INFO` find it), with
 * its metadata, and publishes a heartbeat; it stops the service and says
 * goodbye when it drains. A coordinator discovers N of them, then watches:
 * a missed heartbeat (SIGSTOP, a frozen host, a cut cable) or a `$SYS`
 * disconnect event (SIGKILL, seen within milliseconds where a system account
 * is available) is a lost worker. Silence is counted in the watcher's own
 * waking time: a watcher stalled past the timeout does not lose every worker.
 */
import { NoRespondersError, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Svcm, type Service, type ServiceInfo } from '@nats-io/services';
import { Observable } from 'rxjs';
import { errors } from '../errors.js';

export const WORKER_SERVICE = 'paragen-worker';
export const HEARTBEAT_SUBJECT = 'paragen.workers.heartbeat';
export const LEAVE_SUBJECT = 'paragen.workers.leave';
/** The subject of a worker's request endpoint `op` (`status`, `place`, `release`: worker.ts). */
export const workerSubject = (id: string, op: string): string => `paragen.worker.${id}.${op}`;
/** The client name a worker's NATS connection carries (what `$SYS` disconnect events name). */
export const workerClientName = (name: string): string => `${WORKER_SERVICE}:${name}`;

export interface WorkerMetadata {
  readonly name: string;
  /** Where its tensor port is reachable (`--advertise`). */
  readonly host: string;
  readonly port: number;
  readonly backend: string;
  readonly cores: number;
  /** paragen's version on the worker. */
  readonly version: string;
}

export interface WorkerInfo extends WorkerMetadata {
  /** The service instance id (unique per worker process). */
  readonly id: string;
}

interface Heartbeat {
  readonly id: string;
  readonly name: string;
}

export interface RegisteredWorker {
  readonly id: string;
  readonly service: Service;
  /** Stops the heartbeat and the service, and says goodbye: discovery no longer finds it. */
  deregister(): Promise<void>;
}

/** Registers this process as a worker and starts its heartbeat (every `heartbeatMs`, default 1000). */
export async function registerWorker(nc: NatsConnection, meta: WorkerMetadata, heartbeatMs = 1000): Promise<RegisteredWorker> {
  const service = await new Svcm(nc).add({
    name: WORKER_SERVICE,
    version: meta.version,
    description: 'a paragen worker host',
    metadata: {
      name: meta.name,
      host: meta.host,
      port: String(meta.port),
      backend: meta.backend,
      cores: String(meta.cores),
      version: meta.version,
    },
  });
  const id = service.info().id;
  const beat = (): void => nc.publish(HEARTBEAT_SUBJECT, JSON.stringify({ id, name: meta.name } satisfies Heartbeat));
  beat();
  const timer = setInterval(beat, heartbeatMs);
  let done = false;
  return {
    id,
    service,
    deregister: async () => {
      if (done) return;
      done = true;
      clearInterval(timer);
      await service.stop();
      nc.publish(LEAVE_SUBJECT, JSON.stringify({ id, name: meta.name } satisfies Heartbeat));
      await nc.flush();
    },
  };
}

function workerFrom(info: ServiceInfo): WorkerInfo | undefined {
  const m = info.metadata ?? {};
  const port = Number(m['port']);
  if (info.name !== WORKER_SERVICE || m['name'] === undefined || m['host'] === undefined || !Number.isInteger(port)) return undefined;
  return {
    id: info.id,
    name: m['name'],
    host: m['host'],
    port,
    backend: m['backend'] ?? 'auto',
    cores: Number(m['cores'] ?? 1),
    version: m['version'] ?? info.version,
  };
}

/** `w1 (10.0.0.5:7000)` */
export const describeWorker = (w: WorkerInfo): string => `${w.name} (${w.host.includes(':') ? `[${w.host}]` : w.host}:${w.port})`;

export interface DiscoverOptions {
  readonly count: number;
  readonly timeoutMs: number;
  /** How long one round of `$SRV.INFO` answers is collected, ms (default 300). */
  readonly roundMs?: number;
}

/**
 * Waits until `count` workers answer, and returns the first `count` by name.
 * On timeout: a one-line error naming those it found.
 */
export async function discoverWorkers(nc: NatsConnection, options: DiscoverOptions): Promise<WorkerInfo[]> {
  const { count, timeoutMs } = options;
  if (!Number.isInteger(count) || count < 1) throw errors.invalidValue('workers', 'a positive integer', count);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await listWorkers(nc, options.roundMs);
    if (found.length >= count) return found.slice(0, count);
    if (Date.now() >= deadline) throw errors.workersMissing(count, found.map(describeWorker), timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now()))));
  }
}

/** Every worker that answers one round of `$SRV.INFO` (collected for `roundMs`, default 300), by name. */
export async function listWorkers(nc: NatsConnection, roundMs = 300): Promise<WorkerInfo[]> {
  const found = new Map<string, WorkerInfo>();
  const client = new Svcm(nc).client({ strategy: 'timer', maxWait: roundMs });
  try {
    for await (const info of await client.info(WORKER_SERVICE)) {
      const worker = workerFrom(info);
      if (worker) found.set(worker.id, worker);
    }
  } catch (error) {
    // No worker subscribed yet: the server says so at once.
    if (!(error instanceof NoRespondersError)) throw error;
  }
  return [...found.values()].sort(byName);
}

const byName = (a: WorkerInfo, b: WorkerInfo): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1);

export interface WorkerLoss {
  readonly worker: WorkerInfo;
  /** `no heartbeat for 3000 ms`, `disconnected from NATS (Client Closed)`, `left (drained)` */
  readonly cause: string;
}

export interface WatchOptions {
  /** A worker silent this long is lost, ms (default 3000: three missed heartbeats). */
  readonly heartbeatTimeoutMs?: number;
  /** A connection in the system account: `$SYS.ACCOUNT.*.DISCONNECT` reports a killed worker at once. */
  readonly system?: NatsConnection;
  /** Clock (tests may inject one). */
  readonly now?: () => number;
}

/**
 * Emits each watched worker once, when it is lost; completes when all are. Unsubscribe to stop
 * watching. The subscriptions reach the server asynchronously: `flush()` the connections after
 * subscribing before relying on a loss being seen.
 */
export function watchWorkers(nc: NatsConnection, workers: readonly WorkerInfo[], options: WatchOptions = {}): Observable<WorkerLoss> {
  return new Observable<WorkerLoss>((subscriber) => {
    const timeoutMs = options.heartbeatTimeoutMs ?? 3000;
    const now = options.now ?? Date.now;
    const lastSeen = new Map(workers.map((w) => [w.id, now()]));
    const byId = new Map(workers.map((w) => [w.id, w]));
    const byClientName = new Map(workers.map((w) => [workerClientName(w.name), w]));
    const subs: Subscription[] = [];
    const lose = (worker: WorkerInfo, cause: string): void => {
      if (!lastSeen.delete(worker.id)) return;
      subscriber.next({ worker, cause });
      if (lastSeen.size === 0) subscriber.complete();
    };
    const listen = (conn: NatsConnection, subject: string, on: (data: unknown) => void): void => {
      const sub = conn.subscribe(subject, {
        callback: (_error, msg) => {
          try {
            on(msg.json());
          } catch {
            // Not JSON: not one of ours; nothing to act on.
          }
        },
      });
      subs.push(sub);
    };
    listen(nc, HEARTBEAT_SUBJECT, (data) => {
      const id = (data as Partial<Heartbeat>).id;
      if (id !== undefined && lastSeen.has(id)) lastSeen.set(id, now());
    });
    listen(nc, LEAVE_SUBJECT, (data) => {
      const worker = byId.get((data as Partial<Heartbeat>).id ?? '');
      if (worker) lose(worker, 'left (drained)');
    });
    if (options.system) {
      listen(options.system, '$SYS.ACCOUNT.*.DISCONNECT', (data) => {
        const event = data as { client?: { name?: string }; reason?: string };
        const worker = byClientName.get(event.client?.name ?? '');
        if (worker) lose(worker, `disconnected from NATS (${event.reason ?? 'no reason given'})`);
      });
    }
    const tickMs = Math.max(50, Math.floor(timeoutMs / 10));
    let lastTick = now();
    const timer = setInterval(() => {
      const at = now();
      // A late tick means this process was stalled (a long synchronous task, a starved core). The
      // heartbeats that came meanwhile are still unread, queued behind this tick: the stall is not
      // held against the workers, or every one of them would be lost at once.
      const late = Math.max(0, at - lastTick - tickMs);
      lastTick = at;
      for (const [id, seen] of lastSeen) {
        if (late > 0) lastSeen.set(id, seen + late);
        if (at - seen - late > timeoutMs) lose(byId.get(id)!, `no heartbeat for ${timeoutMs} ms`);
      }
    }, tickMs);
    return () => {
      clearInterval(timer);
      for (const sub of subs) sub.unsubscribe();
    };
  });
}
