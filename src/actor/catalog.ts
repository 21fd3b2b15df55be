/**
 * Every kind of actor paragen runs, with its init, protocol and event types
 * (declared beside each actor in `actors/`), and — inside a worker — where
 * its definition is loaded from. Definitions load lazily, so a thread that
 * hosts only the data loader never loads TensorFlow.js.
 */
import type { DataLoaderEvent, DataLoaderInit, DataLoaderProtocol } from '../../actors/data-loader.js';
import type { DecoderProtocol } from '../../actors/decoder.js';
import type { DiscriminatorProtocol } from '../../actors/discriminator.js';
import type { EncoderProtocol } from '../../actors/encoder.js';
import type { GeneratorProtocol } from '../../actors/generator.js';
import type { NetworkEvent, NetworkInit } from '../../actors/network.js';
import type { ProbeEvent, ProbeInit, ProbeProtocol } from './probe.js';
import { errors } from '../errors.js';
import type { ActorDefinition } from './protocol.js';

interface Kind<I, P, E> {
  readonly init: I;
  readonly protocol: P;
  readonly event: E;
}

/** The kinds, by name. */
export interface ActorKinds {
  probe: Kind<ProbeInit, ProbeProtocol, ProbeEvent>;
  dataLoader: Kind<DataLoaderInit, DataLoaderProtocol, DataLoaderEvent>;
  generator: Kind<NetworkInit, GeneratorProtocol, NetworkEvent>;
  discriminator: Kind<NetworkInit, DiscriminatorProtocol, NetworkEvent>;
  encoder: Kind<NetworkInit, EncoderProtocol, NetworkEvent>;
  decoder: Kind<NetworkInit, DecoderProtocol, NetworkEvent>;
}

export type ActorKind = keyof ActorKinds;
export type InitOf<K extends ActorKind> = ActorKinds[K]['init'];
export type ProtocolOf<K extends ActorKind> = ActorKinds[K]['protocol'];
export type EventOf<K extends ActorKind> = ActorKinds[K]['event'];
export type DefinitionOf<K extends ActorKind> = ActorDefinition<InitOf<K>, ProtocolOf<K>, EventOf<K>>;

const DEFINITIONS: { readonly [K in ActorKind]: () => Promise<DefinitionOf<K>> } = {
  probe: async () => (await import('./probe.js')).probe,
  dataLoader: async () => (await import('../../actors/data-loader.js')).dataLoader,
  generator: async () => (await import('../../actors/generator.js')).generator,
  discriminator: async () => (await import('../../actors/discriminator.js')).discriminator,
  encoder: async () => (await import('../../actors/encoder.js')).encoder,
  decoder: async () => (await import('../../actors/decoder.js')).decoder,
};

export const ACTOR_KINDS = Object.keys(DEFINITIONS) as ActorKind[];

/** The definition of `kind` (inside a worker). */
export function loadDefinition<K extends ActorKind>(kind: K): Promise<DefinitionOf<K>> {
  if (!Object.hasOwn(DEFINITIONS, kind)) {
    return Promise.reject(errors.invalidValue('actor kind', `one of ${ACTOR_KINDS.map((k) => `'${k}'`).join(', ')}`, kind));
  }
  return DEFINITIONS[kind]();
}
