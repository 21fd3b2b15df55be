/**
 * A worker host: connected to the cluster's NATS server, registered with its
 * metadata, holding its tensor port, up until it is told to drain. It outlives
 * runs; hosting a run's actors on it is the remote host kind's job (not built
 * yet), so for now every tensor connection is refused and logged: no run, no
 * token to present.
 */
import { createServer, type Server } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { formatHostPort, type HostPort } from '../actor/collective/tcp-mesh.js';
import { errors } from '../errors.js';
import { connectCluster, type ClusterCredentials } from './connect.js';
import { registerWorker, workerClientName, type RegisteredWorker, type WorkerInfo } from './membership.js';

export interface WorkerOptions extends ClusterCredentials {
  readonly connect: string;
  readonly name?: string;
  readonly advertise?: HostPort;
  readonly listen?: HostPort;
  readonly backend: string;
  readonly version: string;
  readonly heartbeatMs?: number;
  readonly log?: (line: string) => void;
}

export interface WorkerHost {
  readonly info: WorkerInfo;
  readonly nc: NatsConnection;
  /** Deregisters, drains the NATS connection and releases the tensor port. */
  drain(): Promise<void>;
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

function listenOn(address: HostPort, log: (line: string) => void): Promise<Server> {
  const server = createServer((socket) => {
    log(`tensor connection from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} refused: no run is placed on this worker`);
    socket.destroy();
  });
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
  const server = await listenOn(listen, log);
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
  let drained: Promise<void> | undefined;
  return {
    info,
    nc,
    drain: () =>
      (drained ??= (async () => {
        await registered.deregister();
        await nc.drain();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}
