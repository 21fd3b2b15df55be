/**
 * The actors of a plan: for each replica, a data loader (serving the
 * replica's shard) and the model's two network actors, on the replica's
 * workers; with more than one replica, the groups the replicas all-reduce
 * in (one per network, and one more for a network's batch-norm moving
 * statistics): shared buffers between thread hosts, TCP rings (connected by
 * `ringRendezvous`, rendezvous.ts) between process or remote hosts. Two
 * stages of a replica on process or remote hosts also get a TCP pair
 * (tcp-pair.ts), connected by the same rendezvous, for their activations.
 *
 * Names. Replica 0's actors have the plain names (`generator`, `dataLoader`,
 * …: what `placement`, `--fault` and restart events use); replica r's carry
 * `/r` (`generator/1`).
 */
import * as tf from '@tensorflow/tfjs';
import type { DataLoaderEvent, DataLoaderProtocol } from '../../actors/data-loader.js';
import type { NetworkInit, ReplicaReduce } from '../../actors/network.js';
import type { ParagenSystem } from '../../actors/catalog.js';
import type { ActorRef, FaultPlan } from '../actor/index.js';
import type { BackendChoice } from '../backend/index.js';
import type { Split } from '../data/index.js';
import type { ModelSpec, NetworkName } from '../models/index.js';
import type { ActorName } from '../domain.js';
import { createGroup, type ReduceGroup } from '../actor/index.js';
import { layoutBatch, type ShardLayout } from './chunks.js';
import { settleAll, type NetworkActors, type NetworkRef } from './schedule.js';
import { replicaPlacement, type StrategyPlan } from './strategy.js';

export type LoaderRef = ActorRef<DataLoaderProtocol, DataLoaderEvent>;

export interface Replica {
  readonly rank: number;
  readonly loader: LoaderRef;
  readonly actors: NetworkActors;
  /** Its rows of each global batch and their microbatches. */
  readonly shard: ShardLayout;
}

export interface Topology {
  readonly replicas: readonly Replica[];
  /** Every shared all-reduce buffer (none with one replica or TCP rings): aborted when a step fails, reset after. */
  readonly groups: readonly ReduceGroup[];
  /** Whether replicas all-reduce over TCP rings or stages meet over TCP pairs, which need a rendezvous at every epoch. */
  readonly rings: boolean;
}

/** What the actors are built from. */
export interface TopologyInput {
  readonly spec: ModelSpec;
  readonly plan: StrategyPlan;
  readonly split: Split;
  readonly batchSize: number;
  readonly prefetch: number;
  readonly network: Omit<NetworkInit, 'replica'>;
  readonly backend: BackendChoice;
  /** How replicas all-reduce: `shared` memory (thread hosts) or `tcp` rings (process and remote hosts). */
  readonly collective: 'shared' | 'tcp';
  /** TCP rings: the longest one all-reduce may wait, ms (default 30000). */
  readonly ringTimeoutMs?: number;
  /** A planned fault, for replica 0's actor of that name. */
  readonly fault?: { readonly actor: ActorName; readonly plan: FaultPlan };
}

/** Replica `rank`'s name for `actor`. */
export function actorName(actor: ActorName, rank: number): string {
  return rank === 0 ? actor : `${actor}/${rank}`;
}

/** The actor name (`generator`) of a replica's actor (`generator/1`). */
export function roleOf(name: string): ActorName {
  return name.split('/')[0] as ActorName;
}

/** Spawns every replica's actors; rejects (after stopping nothing: the caller closes the system) if any cannot start. */
export async function spawnTopology(system: ParagenSystem, input: TopologyInput): Promise<Topology> {
  const { spec, plan, batchSize } = input;
  const networks = spec.networks as readonly NetworkName[];
  const sizes = plan.replicas > 1 ? networks.map((n) => networkSizes(spec, n)) : [];
  const tcp = input.collective === 'tcp';
  const groups = tcp ? [] : sizes.map(({ gradients, statistics }) => ({
    gradients: createGroup(plan.replicas, gradients),
    ...(statistics > 0 ? { statistics: createGroup(plan.replicas, statistics) } : {}),
  }));
  const timeout = input.ringTimeoutMs === undefined ? {} : { timeoutMs: input.ringTimeoutMs };
  // Stages on process or remote hosts pass activations over a TCP pair, not through the coordinator.
  const paired = tcp && plan.stages === 2;
  const shards = layoutBatch(batchSize, plan.replicas, plan.microbatches);
  const spawns: Promise<Replica>[] = [];
  for (let rank = 0; rank < plan.replicas; rank++) {
    const placement = replicaPlacement(plan, rank);
    const where = (actor: ActorName) => ({
      worker: placement[actor]!,
      ...(rank === 0 && input.fault?.actor === actor ? { fault: input.fault.plan } : {}),
    });
    const shard = shards[rank]!;
    const init = (index: number): NetworkInit => {
      const stage = paired ? { stage: { via: 'tcp' as const, side: index === 0 ? (0 as const) : (1 as const), ...timeout } } : {};
      const size = sizes[index];
      if (!size) return { ...input.network, ...stage };
      const share = shard.size / batchSize;
      const ring = (length: number) => ({ via: 'tcp' as const, rank, size: plan.replicas, length, ...timeout });
      const group = groups[index];
      const replica: ReplicaReduce = group
        ? {
            gradients: { via: 'shared', member: { ...group.gradients, rank } },
            ...(group.statistics ? { statistics: { via: 'shared', member: { ...group.statistics, rank } } } : {}),
            share,
          }
        : { gradients: ring(size.gradients), ...(size.statistics > 0 ? { statistics: ring(size.statistics) } : {}), share };
      return { ...input.network, replica, ...stage };
    };
    const loader = system.spawn(
      actorName('dataLoader', rank),
      'dataLoader',
      {
        split: input.split,
        batchSize,
        seed: input.network.seed,
        prefetch: input.prefetch,
        range: spec.range,
        ...(plan.replicas > 1 ? { shard: { replica: rank, replicas: plan.replicas } } : {}),
      },
      where('dataLoader'),
    );
    const actors: Promise<NetworkActors> =
      spec.kind === 'gan'
        ? Promise.all([
            system.spawn(actorName('generator', rank), 'generator', init(0), where('generator')),
            system.spawn(actorName('discriminator', rank), 'discriminator', init(1), where('discriminator')),
          ]).then(([generator, discriminator]) => ({ kind: 'gan', generator, discriminator }))
        : Promise.all([
            system.spawn(actorName('encoder', rank), 'encoder', init(0), where('encoder')),
            system.spawn(actorName('decoder', rank), 'decoder', init(1), where('decoder')),
          ]).then(([encoder, decoder]) => ({ kind: 'vae', encoder, decoder }));
    spawns.push(
      settleAll<unknown>([loader, actors]).then(([l, a]) => ({ rank, loader: l as LoaderRef, actors: a as NetworkActors, shard })),
    );
  }
  const replicas = await settleAll(spawns);
  return {
    replicas,
    groups: groups.flatMap((g) => (g.statistics ? [g.gradients, g.statistics] : [g.gradients])),
    rings: tcp && (plan.replicas > 1 || paired),
  };
}

/** Every network actor of every replica, replica by replica, in the model's network order. */
export function allNetworkRefs(topology: Topology): NetworkRef[] {
  return topology.replicas.flatMap((r) => networkRefsOf(r.actors));
}

/** A replica's network actors in the model's network order. */
export function networkRefsOf(actors: NetworkActors): NetworkRef[] {
  return (actors.kind === 'gan' ? [actors.generator, actors.discriminator] : [actors.encoder, actors.decoder]) as NetworkRef[];
}

/**
 * The all-reduce rows of `network`: its trainable floats, and its other
 * weights (batch norm's moving statistics; 0 when it has none). The sizes
 * come from building the network once here, without training it.
 */
function networkSizes(spec: ModelSpec, network: NetworkName): { gradients: number; statistics: number } {
  const model = (spec.buildNetwork as (n: NetworkName, seed: number) => tf.Sequential)(network, 0);
  try {
    const count = (weights: readonly { shape: readonly (number | null)[] }[]) =>
      weights.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
    return { gradients: count(model.trainableWeights), statistics: count(model.nonTrainableWeights) };
  } finally {
    model.dispose();
  }
}
