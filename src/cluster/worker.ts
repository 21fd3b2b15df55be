/**
 * A worker host: connected to the cluster's NATS server, registered with its
 * metadata, holding its tensor port, up until it is told to drain. It outlives
 * runs and hosts one at a time:
 *
 * - a coordinator places a run on it over NATS (`place`, with the run's
 *   random token) and releases it after (`release`); a placement whose
 *   coordinator went away (no host connection for `leaseMs`) lapses;
 * - on the tensor port it serves process hosts (remote-host.ts) to callers
 *   that present the placed run's token; any other connection is refused
 *   and logged;
 * - the processes it forks listen for their all-reduce rings where this
 *   worker listens, and tell peers the address it advertises.
 */
import { createServer, type Server } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { formatHostPort, type HostPort } from '../actor/collective/tcp-mesh.js';
import { errors } from '../errors.js';
import { connectCluster, type ClusterCredentials } from './connect.js';
import { registerWorker, workerClientName, workerSubject, type RegisteredWorker, type WorkerInfo } from './membership.js';
import { serveRemoteHosts } from './remote-host.js';
import { TENSOR_ADVERTISE_ENV, TENSOR_LISTEN_ENV } from '../actor/index.js';

export interface WorkerOptions extends ClusterCredentials {
  readonly connect: string;
  readonly name?: string;
  readonly advertise?: HostPort;
  readonly listen?: HostPort;
  readonly backend: string;
  readonly version: string;
  readonly heartbeatMs?: number;
  /** A placement with no host connection this long has lost its coordinator and lapses, ms (default 30000). */
  readonly leaseMs?: number;
  readonly log?: (line: string) => void;
}

/** A `place` request: the run and the token its host connections present. */
export interface PlaceRequest {
  readonly run: string;
  readonly token: string;
}

/** A worker's answer to `place`, `release` and `status`. */
export interface PlaceReply {
  readonly ok: boolean;
  /** The run placed here, if any. */
  readonly run?: string;
  readonly why?: string;
}

export interface WorkerHost {
  readonly info: WorkerInfo;
  readonly nc: NatsConnection;
  /**
   * Deregisters, drains the NATS connection and releases the tensor port;
   * resolves false when NATS did not answer in time (closed without deregistering).
   */
  drain(): Promise<boolean>;
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);
/** How long a drain waits for NATS to take its goodbye, ms. */
const DRAIN_MS = 3000;
const delay = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(resolve, ms, value).unref());

function listenOn(address: HostPort): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EADDRNOTAVAIL' ? 'address not on this host' : 'cannot listen there';
      reject(errors.invalidValue('listen', `an address this host can listen on (${why})`, formatHostPort(address)));
    });
    server.listen(address.port, address.host, () => resolve(server));
  });
}

export async function startWorker(options: WorkerOptions): Promise<WorkerHost> {
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const listen = options.listen ?? options.advertise ?? { host: '127.0.0.1', port: 0 };
  if (options.advertise === undefined && WILDCARD.has(listen.host)) {
    throw errors.invalidValue('advertise', `the HOST:PORT other workers reach (required when --listen is ${formatHostPort(listen)})`, undefined);
  }
  const name = options.name ?? `${hostname()}-${process.pid}`;
  const server = await listenOn(listen);
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : listen.port;
  const advertise = options.advertise ?? { host: listen.host, port };
  let nc: NatsConnection;
  try {
    nc = await connectCluster(options.connect, { ...options, name: workerClientName(name) });
  } catch (error) {
    server.close();
    throw error;
  }
  let registered: RegisteredWorker;
  try {
    registered = await registerWorker(
      nc,
      { name, host: advertise.host, port: advertise.port, backend: options.backend, cores: availableParallelism(), version: options.version },
      options.heartbeatMs,
    );
  } catch (error) {
    server.close();
    await nc.close();
    throw errors.clusterUnreachable(options.connect, `registration failed (${error instanceof Error ? error.message : String(error)})`);
  }
  const info: WorkerInfo = {
    id: registered.id,
    name,
    host: advertise.host,
    port: advertise.port,
    backend: options.backend,
    cores: availableParallelism(),
    version: options.version,
  };
  const placement = new Placement(options.leaseMs ?? 30_000, log);
  const stopServing = serveRemoteHosts(server, {
    token: () => placement.token,
    log,
    env: { [TENSOR_LISTEN_ENV]: listen.host, [TENSOR_ADVERTISE_ENV]: advertise.host },
    onActive: (open) => placement.active(open),
  });
  const endpoints: ReadonlyArray<readonly [string, (request: Partial<PlaceRequest>) => PlaceReply]> = [
    ['status', () => placement.status()],
    ['place', (request) => placement.place(request)],
    ['release', (request) => placement.release(request.run)],
  ];
  for (const [op, handle] of endpoints) {
    registered.service.addEndpoint(op, {
      subject: workerSubject(registered.id, op),
      handler: (_error, msg) => {
        let request: Partial<PlaceRequest> = {};
        try {
          request = msg.json<Partial<PlaceRequest>>();
        } catch {
          // Not JSON: an empty request, refused by `place`.
        }
        msg.respond(JSON.stringify(handle(request)));
      },
    });
  }
  let drained: Promise<boolean> | undefined;
  return {
    info,
    nc,
    drain: () =>
      (drained ??= (async () => {
        placement.release(placement.run);
        // With the server gone the client would retry forever: past DRAIN_MS it closes without saying
        // goodbye (coordinators see the heartbeat stop instead).
        const goodbye = (async () => {
          await registered.deregister();
          await nc.drain();
        })();
        const said = await Promise.race([goodbye.then(() => true, () => false), delay(DRAIN_MS, false)]);
        if (!said) {
          log(`NATS at ${options.connect.replace(/\/\/[^@/]*@/, '//')} did not answer within ${DRAIN_MS} ms: closed without deregistering`);
          await nc.close().catch(() => undefined);
        }
        stopServing();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        return said;
      })()),
  };
}

/** The run this worker hosts, if any, and its lease. */
class Placement {
  #run: string | undefined;
  #token: string | undefined;
  #open = 0;
  #lapse: NodeJS.Timeout | undefined;
  readonly #leaseMs: number;
  readonly #log: (line: string) => void;

  constructor(leaseMs: number, log: (line: string) => void) {
    this.#leaseMs = leaseMs;
    this.#log = log;
  }

  get run(): string | undefined {
    return this.#run;
  }

  get token(): string | undefined {
    return this.#token;
  }

  status(): PlaceReply {
    return this.#run === undefined ? { ok: true } : { ok: true, run: this.#run };
  }

  place(request: Partial<PlaceRequest>): PlaceReply {
    const { run, token } = request;
    if (typeof run !== 'string' || typeof token !== 'string' || token.length < 16) return { ok: false, why: 'a place request needs a run and a token' };
    if (this.#run !== undefined && this.#run !== run) return { ok: false, run: this.#run, why: `busy with run ${this.#run}` };
    if (this.#run === undefined) this.#log(`placed: run ${run}`);
    this.#run = run;
    this.#token = token;
    this.#arm();
    return { ok: true, run };
  }

  release(run: string | undefined): PlaceReply {
    if (this.#run === undefined || run !== this.#run) return { ok: this.#run === undefined, ...(this.#run ? { run: this.#run } : {}) };
    this.#log(`released: run ${run}`);
    this.#run = undefined;
    this.#token = undefined;
    clearTimeout(this.#lapse);
    return { ok: true };
  }

  active(open: number): void {
    this.#open = open;
    this.#arm();
  }

  /** With no host connection, the placement lapses after the lease. */
  #arm(): void {
    clearTimeout(this.#lapse);
    if (this.#run === undefined || this.#open > 0) return;
    const run = this.#run;
    this.#lapse = setTimeout(() => {
      this.#log(`run ${run}: no host connection for ${this.#leaseMs} ms; placement lapsed`);
      this.release(run);
    }, this.#leaseMs);
    this.#lapse.unref();
  }
}
