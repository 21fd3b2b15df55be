/**
 * A network part as checkpoint files: its standard TensorFlow.js artifacts
 * (`<name>/model.json`, `<name>/weights.bin`, batch-norm moving statistics
 * included) and its Adam state (`<name>/optimizer.json` with the step count and
 * shapes, `<name>/optimizer.bin` with the first then second moments, float32).
 * An optimizer that keeps a moving average of the weights adds it to
 * `optimizer.bin` after the moments, and the averaged network, ready to
 * sample from, as `<name>-ema/model.json` and `<name>-ema/weights.bin`.
 */
import { errors } from '../errors.js';
import type { AdamConfig, AdamState } from './adam.js';
import { loadPart, type NetworkPart } from './part.js';
import { averagedImageNetwork, averagedName } from './sample.js';

export type FileMap = Record<string, Uint8Array | string>;

interface OptimizerJson {
  format: 'paragen-adam';
  step: number;
  shapes: number[][];
  /** Whether `optimizer.bin` holds the weights' moving average after the moments. */
  average?: boolean;
}

/** The part's files, keyed `<name>/<file>`. */
export async function encodePart(part: NetworkPart): Promise<FileMap> {
  const files = await part.save();
  const state = await part.getOptimizerState();
  const shapes = part.trainableShapes.map((s) => [...s]);
  const arrays = [...state.m, ...state.v, ...(state.average ?? [])];
  const moments = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    moments.set(a, offset);
    offset += a.length;
  }
  const json: OptimizerJson = { format: 'paragen-adam', step: state.step, shapes, ...(state.average ? { average: true } : {}) };
  const out: FileMap = {
    [`${part.name}/model.json`]: files['model.json'],
    [`${part.name}/weights.bin`]: files['weights.bin'],
    [`${part.name}/optimizer.json`]: JSON.stringify(json),
    [`${part.name}/optimizer.bin`]: new Uint8Array(moments.buffer),
  };
  const averaged = await averagedImageNetwork(part);
  if (averaged) {
    try {
      const avg = await averaged.save();
      out[`${averagedName(part.name)}/model.json`] = avg['model.json'];
      out[`${averagedName(part.name)}/weights.bin`] = avg['weights.bin'];
    } finally {
      averaged.dispose();
    }
  }
  return out;
}

function text(files: ReadonlyMap<string, Uint8Array>, path: string): string {
  const data = files.get(path);
  if (!data) throw errors.checkpoint(`checkpoint has no ${path}`);
  return new TextDecoder().decode(data);
}

function bytes(files: ReadonlyMap<string, Uint8Array>, path: string): Uint8Array {
  const data = files.get(path);
  if (!data) throw errors.checkpoint(`checkpoint has no ${path}`);
  return data;
}

/** Rebuilds the part `name` from checkpoint files, weights and optimizer state both. */
export async function decodePart(
  name: string,
  files: ReadonlyMap<string, Uint8Array>,
  optimizer: AdamConfig,
): Promise<NetworkPart> {
  const part = await loadPart(
    name,
    { 'model.json': text(files, `${name}/model.json`), 'weights.bin': bytes(files, `${name}/weights.bin`) },
    optimizer,
  );
  try {
    part.setOptimizerState(decodeOptimizer(name, files));
  } catch (e) {
    part.dispose();
    throw e;
  }
  return part;
}

/** The Adam state stored for part `name`. */
export function decodeOptimizer(name: string, files: ReadonlyMap<string, Uint8Array>): AdamState {
  const json = JSON.parse(text(files, `${name}/optimizer.json`)) as OptimizerJson;
  if (json.format !== 'paragen-adam' || !Number.isInteger(json.step) || !Array.isArray(json.shapes)) {
    throw errors.checkpoint(`${name}/optimizer.json is not a paragen Adam state`);
  }
  const raw = bytes(files, `${name}/optimizer.bin`);
  // Copy: the file's bytes need not be 4-byte aligned.
  const moments = new Float32Array(raw.slice().buffer, 0, raw.byteLength / 4);
  const sizes = json.shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const sets = json.average === true ? 3 : 2;
  if (moments.length !== sets * total) {
    throw errors.checkpoint(`${name}/optimizer.bin holds ${moments.length} values, expected ${sets * total}`);
  }
  let offset = 0;
  const next = (): Float32Array[] =>
    sizes.map((size) => {
      offset += size;
      return moments.slice(offset - size, offset);
    });
  const m = next();
  const v = next();
  return { step: json.step, m, v, ...(sets === 3 ? { average: next() } : {}) };
}
