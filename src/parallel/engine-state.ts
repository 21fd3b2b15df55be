/**
 * The engine's own file of a checkpoint, `engine.json`: where the next batch
 * is read and the step RNG's state. The one module that writes and reads it.
 */
import type { Cursor } from '../data/index.js';
import { errors } from '../errors.js';
import type { RngState } from '../rng.js';

export const ENGINE_STATE_FILE = 'engine.json';

export interface EngineState {
  readonly format: 'paragen-engine';
  readonly cursor: Cursor;
  readonly rng: RngState;
}

/** `engine.json`'s contents. */
export function engineStateFile(cursor: Cursor, rng: RngState): string {
  const state: EngineState = { format: 'paragen-engine', cursor, rng };
  return JSON.stringify(state);
}

/** The engine state of a checkpoint's files; a missing or foreign file is a checkpoint error. */
export function readEngineState(files: ReadonlyMap<string, Uint8Array>): EngineState {
  const raw = files.get(ENGINE_STATE_FILE);
  if (!raw) throw errors.checkpoint(`checkpoint has no ${ENGINE_STATE_FILE}`);
  let state: Partial<EngineState>;
  try {
    state = JSON.parse(new TextDecoder().decode(raw)) as Partial<EngineState>;
  } catch {
    throw errors.checkpoint(`${ENGINE_STATE_FILE} is not JSON`);
  }
  if (state.format !== 'paragen-engine' || !state.cursor || !state.rng) {
    throw errors.checkpoint(`${ENGINE_STATE_FILE} is not a paragen engine state`);
  }
  return state as EngineState;
}
