/**
 * paragen's vocabulary: the names of models, networks, actors, strategies,
 * hosts and backends, each defined once. Everything above imports them from
 * here: the config table, the backends, the models, the actors, the engine.
 * It imports nothing.
 */

export const MODELS = ['dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv'] as const;
export type ModelName = (typeof MODELS)[number];
export type GanModelName = 'dcgan' | 'dcgan-small';
export type VaeModelName = 'vae-mlp' | 'vae-conv';
export type ModelFamily = 'gan' | 'vae';

/** GANs and VAEs differ in their networks, actors and reference optimiser settings. */
export function modelFamily(model: ModelName): ModelFamily {
  return model.startsWith('vae') ? 'vae' : 'gan';
}

export type GanNetwork = 'generator' | 'discriminator';
export type VaeNetwork = 'encoder' | 'decoder';
export type NetworkName = GanNetwork | VaeNetwork;

/** Actor names as they appear in `placement`, `restart` events and `--fault`. */
export const ACTORS = ['dataLoader', 'generator', 'discriminator', 'encoder', 'decoder'] as const;
export type ActorName = (typeof ACTORS)[number];

/** The actors a model family runs (a fault can only target one of these). */
export const FAMILY_ACTORS: Readonly<Record<ModelFamily, readonly ActorName[]>> = {
  gan: ['dataLoader', 'generator', 'discriminator'],
  vae: ['dataLoader', 'encoder', 'decoder'],
};

export const STRATEGIES = ['auto', 'single', 'data', 'model', 'pipeline'] as const;
export type StrategyChoice = (typeof STRATEGIES)[number];
/** The strategies the engine runs (`auto` resolves to one of them). */
export type ActorStrategy = Exclude<StrategyChoice, 'auto'>;

export const SCHEDULES = ['gpipe', '1f1b'] as const;
export type PipelineSchedule = (typeof SCHEDULES)[number];

/** Where actors live: worker threads of this process, or child processes. */
export const HOSTS = ['thread', 'process'] as const;
export type HostKind = (typeof HOSTS)[number];

export const BACKENDS = ['auto', 'gpu', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

const FAULT_PATTERN = /^crash:([A-Za-z]+)@(\d+)$/;

/** Splits a `--fault` value (`crash:generator@20`); undefined when it is not of that form. */
export function parseFault(value: string): { kind: 'crash'; actor: ActorName; step: number } | undefined {
  const match = FAULT_PATTERN.exec(value);
  if (!match || !(ACTORS as readonly string[]).includes(match[1]!)) return undefined;
  return { kind: 'crash', actor: match[1] as ActorName, step: Number(match[2]) };
}
