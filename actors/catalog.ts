/**
 * paragen's actor kinds, with their init, protocol and event types (declared
 * beside each actor) and the module a worker loads each definition from. The
 * runtime (`src/actor/`) is handed this catalog and names no kind itself.
 * Definitions load lazily inside the worker, so a thread that hosts only the
 * data loader never loads TensorFlow.js.
 */
import { ActorSystem, type ActorCatalog, type ActorKindSpec, type DefinitionRef, type SystemOptions } from '../src/actor/index.js';
import type { ProbeEvent, ProbeInit, ProbeProtocol } from '../src/actor/probe.js';
import type { DataLoaderEvent, DataLoaderInit, DataLoaderProtocol } from './data-loader.js';
import type { DecoderProtocol } from './decoder.js';
import type { DiscriminatorProtocol } from './discriminator.js';
import type { EncoderProtocol } from './encoder.js';
import type { GeneratorProtocol } from './generator.js';
import type { NetworkEvent, NetworkInit } from './protocol.js';

/** The kinds, by name. */
export type ActorKinds = {
  probe: ActorKindSpec<ProbeInit, ProbeProtocol, ProbeEvent>;
  dataLoader: ActorKindSpec<DataLoaderInit, DataLoaderProtocol, DataLoaderEvent>;
  generator: ActorKindSpec<NetworkInit, GeneratorProtocol, NetworkEvent>;
  discriminator: ActorKindSpec<NetworkInit, DiscriminatorProtocol, NetworkEvent>;
  encoder: ActorKindSpec<NetworkInit, EncoderProtocol, NetworkEvent>;
  decoder: ActorKindSpec<NetworkInit, DecoderProtocol, NetworkEvent>;
};

export type ActorKind = keyof ActorKinds & string;
export type InitOf<K extends ActorKind> = ActorKinds[K]['init'];
export type ProtocolOf<K extends ActorKind> = ActorKinds[K]['protocol'];
export type ActorEventOf<K extends ActorKind> = ActorKinds[K]['event'];

const at = (file: string, name: string): DefinitionRef => ({ module: new URL(file, import.meta.url).href, export: name });

export const CATALOG: ActorCatalog<ActorKinds> = {
  probe: at('../src/actor/probe.js', 'probe'),
  dataLoader: at('./data-loader.js', 'dataLoader'),
  generator: at('./generator.js', 'generator'),
  discriminator: at('./discriminator.js', 'discriminator'),
  encoder: at('./encoder.js', 'encoder'),
  decoder: at('./decoder.js', 'decoder'),
};

export const ACTOR_KINDS = Object.keys(CATALOG) as ActorKind[];

/** A system that spawns paragen's actors. */
export type ParagenSystem = ActorSystem<ActorKinds>;

/** A system over `options`' workers with paragen's catalog. */
export function paragenSystem(options: Omit<SystemOptions<ActorKinds>, 'catalog'>): ParagenSystem {
  return new ActorSystem<ActorKinds>({ ...options, catalog: CATALOG });
}
