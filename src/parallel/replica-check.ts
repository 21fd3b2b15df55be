/**
 * Data-parallel replicas must stay identical: the same all-reduced gradients
 * and the same update at each step keep them so, bit for bit. This checks it
 * — each network's weights and optimizer state, hashed in each replica — and
 * turns a difference into an error that names the replicas that diverged.
 */
import type { Checksum } from '../../actors/network.js';
import { errors } from '../errors.js';
import { settleAll } from './schedule.js';
import { networkRefsOf, type Topology } from './topology.js';

/** Rejects with `errors.replicasDiverged` when any replica's state differs from replica 0's, after step `step`. */
export async function checkReplicas(topology: Topology, step: number): Promise<void> {
  const byReplica = topology.replicas.map((r) => networkRefsOf(r.actors));
  const sums = await settleAll(byReplica.map((refs) => settleAll(refs.map((ref) => ref.call('checksum')))));
  const first = sums[0]!;
  first.forEach((reference, n) => {
    for (const what of ['weights', 'optimizer'] as const) {
      const differ = sums.flatMap((replica, r) => (replica[n]![what] === reference[what] ? [] : [r]));
      if (differ.length > 0) {
        const network = byReplica[0]![n]!.name;
        const label = what === 'weights' ? `${network} weights` : `${network} optimizer states`;
        throw errors.replicasDiverged(differ, step, label, { theirs: (sums[differ[0]!]![n] as Checksum)[what], first: reference[what] });
      }
    }
  });
}
