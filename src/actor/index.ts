/** The actor runtime: systems of typed actors on thread or process hosts, their streams and their deaths. */
export { ActorSystem } from './system.js';
export type { ActorEnvelope, KindMap, SlotFactory, SpawnOptions, SystemOptions } from './system.js';
export { ActorRef } from './ref.js';
export { ActorDied } from './host.js';
export type { Death, HostKind } from './host.js';
export type {
  ActorCatalog,
  ActorContext,
  ActorDefinition,
  ActorKindSpec,
  DefinitionRef,
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
export { joinAllReduce, abortGroup, createGroup, isAborted, resetGroup, ReduceAborted, TcpMember, TcpPair, TENSOR_ADVERTISE_ENV, TENSOR_LISTEN_ENV } from './collective/index.js';
export type { AllReduceMember, CollectiveEndpoint, GroupMember, HostPort, PairEndpoint, Reduced, ReduceGroup, TcpEndpoint } from './collective/index.js';
export { TaskPool } from './pool.js';
export type { TaskPoolOptions } from './pool.js';
