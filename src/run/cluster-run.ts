/**
 * A run on a cluster (`train --cluster`): the coordinator joins it before
 * anything is written, so a missing server or too few workers is one line
 * and no run directory; the engine's process hosts are then the workers'
 * (remote slots), and lost or replaced workers are told as warnings.
 */
import type { Subject } from 'rxjs';
import { Cluster } from '../cluster/cluster.js';
import { describeWorker } from '../cluster/membership.js';
import { planStrategy, type ActorEngineHooks } from '../parallel/index.js';
import type { RunConfig } from './config-schema.js';
import type { RunEvent } from './events.js';

/** Seconds `--cluster-wait` defaults to. */
export const CLUSTER_WAIT_S = 30;

/** Joins `config.cluster` with a worker for each of the plan's workers. */
export async function joinRunCluster(config: RunConfig, events: Subject<RunEvent>): Promise<Cluster> {
  return Cluster.join({
    url: config.cluster!,
    workers: planStrategy(config).workers,
    minWorkers: config.minWorkers,
    waitMs: (config.clusterWait ?? CLUSTER_WAIT_S) * 1000,
    user: config.natsUser,
    password: config.natsPassword,
    token: config.natsToken,
    credsFile: config.natsCreds,
    tlsCa: config.tlsCa,
    tlsCert: config.tlsCert,
    tlsKey: config.tlsKey,
    onChange: (message) => events.next({ type: 'warning', message: `cluster: ${message}` }),
  });
}

/** The engine hooks of a cluster run: each worker slot on the cluster's worker. */
export function clusterHooks(cluster: Cluster): ActorEngineHooks {
  return { slot: cluster.slot };
}

/** The host of each worker, by worker id (`w1 (10.0.0.5:7000)`). */
export function clusterHosts(cluster: Cluster): string[] {
  return cluster.hosts.map(describeWorker);
}
