/** Collectives: the interface actors call, and the transports behind it. */
import { Reducer, type GroupMember } from './shared-memory.js';
import { TcpMember, type TcpEndpoint } from './tcp-member.js';
import type { AllReduceMember } from './types.js';

export { abortGroup, createGroup, isAborted, Reducer, resetGroup } from './shared-memory.js';
export type { GroupMember, ReduceGroup } from './shared-memory.js';
export { ReduceAborted } from './types.js';
export type { AllReduceMember, Reduced } from './types.js';
export { TcpMember, TENSOR_ADVERTISE_ENV, TENSOR_LISTEN_ENV } from './tcp-member.js';
export type { TcpEndpoint } from './tcp-member.js';
export { TcpPair } from './tcp-pair.js';
export type { PairEndpoint } from './tcp-pair.js';
export type { HostPort } from './tcp-mesh.js';

/**
 * How one member reaches its group, as it travels in an actor's init:
 * `shared`, a SharedArrayBuffer between the threads of one process; `tcp`,
 * a ring over TCP between processes or machines, connected by a rendezvous
 * (tcp-member.ts).
 */
export type CollectiveEndpoint = { readonly via: 'shared'; readonly member: GroupMember } | TcpEndpoint;

/** The member `endpoint` describes, ready to reduce. */
export function joinAllReduce(endpoint: CollectiveEndpoint): AllReduceMember {
  switch (endpoint.via) {
    case 'shared':
      return new Reducer(endpoint.member);
    case 'tcp':
      return new TcpMember(endpoint);
  }
}
