/**
 * The rendezvous of TCP replicas and stages at an epoch: every network
 * actor of every replica opens its rings and stage pair (closing the last
 * ones) and says where they listen, then each is handed its peers'
 * addresses (and its other stage's) and connects. Made when
 * the actors are first up and again after every restart, at the next epoch,
 * so that no frame of a ring from before the restart is accepted.
 */
import type { RingAddresses } from '../../actors/protocol.js';
import type { HostPort } from '../actor/index.js';
import { errors } from '../errors.js';
import { settleAll } from './schedule.js';
import { networkRefsOf, type Topology } from './topology.js';

export async function ringRendezvous(topology: Topology, epoch: number, token: string): Promise<void> {
  if (!topology.rings) return;
  // By replica, then by network in the model's order.
  const refs = topology.replicas.map((r) => networkRefsOf(r.actors));
  const opened = await settleAll(refs.map((row) => settleAll(row.map((ref) => ref.call('ringOpen', { epoch, token })))));
  const peers = (network: number, group: 'gradients' | 'statistics'): HostPort[] | undefined => {
    const addresses = opened.map((row) => row[network]![group]);
    if (addresses.every((a) => a === undefined)) return undefined;
    return addresses.map((a, replica) => a ?? missing(replica, group));
  };
  await settleAll(
    refs.flatMap((row, replica) =>
      row.map((ref, network) => {
        const gradients = peers(network, 'gradients');
        const statistics = peers(network, 'statistics');
        // A replica's two stages: each is told where the other listens.
        const stage = opened[replica]![row.length - 1 - network]!.stage;
        return ref.call('ringConnect', { ...(gradients ? { gradients } : {}), ...(statistics ? { statistics } : {}), ...(stage ? { stage } : {}) });
      }),
    ),
  );
}

function missing(replica: number, group: string): never {
  throw errors.internal(`replica ${replica} opened no ${group} ring`);
}
