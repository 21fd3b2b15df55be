/**
 * The rendezvous of TCP replicas at an epoch: every network actor of every
 * replica opens its rings (closing the last ones) and says where they
 * listen, then each is handed its peers' addresses and connects. Made when
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
  const peers = (network: number, group: keyof RingAddresses): HostPort[] | undefined => {
    const addresses = opened.map((row) => row[network]![group]);
    if (addresses.every((a) => a === undefined)) return undefined;
    return addresses.map((a, replica) => a ?? missing(replica, group));
  };
  await settleAll(
    refs.flatMap((row) =>
      row.map((ref, network) => {
        const statistics = peers(network, 'statistics');
        return ref.call('ringConnect', { gradients: peers(network, 'gradients')!, ...(statistics ? { statistics } : {}) });
      }),
    ),
  );
}

function missing(replica: number, group: string): never {
  throw errors.internal(`replica ${replica} opened no ${group} ring`);
}
