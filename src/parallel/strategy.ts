/**
 * Which strategy a run uses, on how many workers, and which worker holds
 * each actor. `data` and `pipeline` come with the parallel-training issue;
 * until then they are refused rather than quietly run as something else.
 */
import type { HostKind } from '../actor/index.js';
import { errors } from '../errors.js';
import { FAMILY_ACTORS, modelFamily, type ActorName, type ModelName, type StrategyChoice } from '../run/config-schema.js';

/** The strategies the actor engine runs. */
export type ActorStrategy = 'single' | 'model';

export interface StrategyPlan {
  readonly strategy: ActorStrategy;
  readonly workers: number;
  readonly host: HostKind;
  /** Which worker holds each actor of the model. */
  readonly placement: Readonly<Partial<Record<ActorName, number>>>;
  /** Why this strategy and this placement, in a sentence (for logs and `paragen train`'s start line). */
  readonly reason: string;
}

/** What `planStrategy` reads of a run's config. */
export interface StrategyInput {
  readonly model: string;
  readonly strategy: StrategyChoice;
  readonly workers?: number;
  readonly host: HostKind;
}

/**
 * The plan for `input`.
 *
 * - `single`: every actor on worker 0.
 * - `model`: the two networks on workers 0 and 1 — generator | discriminator,
 *   encoder | decoder — and the data loader with the network that consumes
 *   the real batch first: the discriminator (the generator never sees data),
 *   the encoder (x enters there; the decoder needs it only for its loss).
 * - `auto`: `model` from 2 workers, else `single` (choosing by measurement
 *   comes with the benchmark).
 */
export function planStrategy(input: StrategyInput): StrategyPlan {
  const family = modelFamily(input.model as ModelName);
  const actors = FAMILY_ACTORS[family];
  const { workers, host } = input;
  switch (input.strategy) {
    case 'data':
    case 'pipeline':
      throw errors.strategyNotBuilt(input.strategy);
    case 'single':
      if (workers !== undefined && workers !== 1) {
        throw errors.invalidValue('workers', "1 for strategy 'single' (every actor on one worker)", workers);
      }
      return single(actors, host, 'single: chosen explicitly; every actor on worker 0');
    case 'model':
      if (workers !== undefined && workers !== 2) {
        throw errors.invalidValue('workers', "2 for strategy 'model' (one worker per network)", workers);
      }
      return model(family, host, 'model: chosen explicitly');
    case 'auto':
      if (workers !== undefined && workers >= 2) {
        const idle = workers > 2 ? `; ${workers - 2} of the ${workers} workers ${workers === 3 ? 'stays' : 'stay'} idle (model uses one per network)` : '';
        return model(family, host, `model: auto picks it from 2 workers (--workers ${workers})${idle}`);
      }
      return single(
        actors,
        host,
        `single: auto picks it below 2 workers (${workers === undefined ? '--workers not set' : '--workers 1'})`,
      );
    default:
      throw errors.invalidValue('strategy', "one of 'auto', 'single', 'model', 'data', 'pipeline'", input.strategy);
  }
}

function single(actors: readonly ActorName[], host: HostKind, reason: string): StrategyPlan {
  return { strategy: 'single', workers: 1, host, placement: Object.fromEntries(actors.map((a) => [a, 0])), reason };
}

function model(family: 'gan' | 'vae', host: HostKind, why: string): StrategyPlan {
  const placement: Partial<Record<ActorName, number>> =
    family === 'gan' ? { dataLoader: 1, generator: 0, discriminator: 1 } : { dataLoader: 0, encoder: 0, decoder: 1 };
  const where =
    family === 'gan'
      ? 'generator on worker 0, discriminator and data loader on worker 1'
      : 'encoder and data loader on worker 0, decoder on worker 1';
  return { strategy: 'model', workers: 2, host, placement, reason: `${why}; ${where}` };
}
