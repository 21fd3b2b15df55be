/** The actor runtime: systems of typed actors on thread or process hosts, their streams and their deaths. */
export { ActorSystem } from './system.js';
export type { ActorEnvelope, SpawnOptions, SystemOptions } from './system.js';
export { ActorRef } from './ref.js';
export { ActorDied } from './host.js';
export type { Death, HostKind } from './host.js';
export { ACTOR_KINDS } from './catalog.js';
export type { ActorKind, ActorKinds, EventOf, InitOf, ProtocolOf } from './catalog.js';
export type {
  ActorContext,
  ActorDefinition,
  ActorInstance,
  ArgsOf,
  FaultKind,
  FaultPlan,
  MethodOf,
  ReplyOf,
  RequestTable,
} from './protocol.js';
export { Prefetcher } from './prefetch.js';
export type { PrefetchStats } from './prefetch.js';
export { transfer } from './wire.js';
export { compiledPath, workerEntry } from './entry.js';
