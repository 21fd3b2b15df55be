/**
 * A network as standard TensorFlow.js artifacts in memory: the `model.json`
 * that `tf.io` writes (topology plus a weights manifest) and one binary weight
 * file. Written to disk side by side, they load with
 * `tf.loadLayersModel('file://…/model.json')` in tfjs-node, or anywhere else
 * TensorFlow.js runs; no paragen code is needed to read them.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';

/** The files of one saved network, by file name. (A type, not an interface, so it is a `LoadableFiles`.) */
export type ModelFiles = {
  'model.json': string;
  'weights.bin': Uint8Array;
};

/** Files to load: `model.json` plus every weight file its manifest names. */
export type LoadableFiles = { 'model.json': string } & Record<string, string | Uint8Array>;

/** The name of the one weight file paragen writes. */
export const WEIGHTS_FILE = 'weights.bin';

/** Saves `model` as standard artifacts (all weights, batch-norm moving statistics included). */
export async function saveModel(model: tf.LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ?? new ArrayBuffer(0);
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      files = {
        'model.json': JSON.stringify(json),
        'weights.bin': new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData)),
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!files) throw errors.internal('tfjs did not hand the model artifacts to the save handler');
  return files;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };

/** Loads artifacts written by `saveModel` (or by any TensorFlow.js tool) into a `LayersModel`. */
export async function loadModel(files: LoadableFiles): Promise<tf.LayersModel> {
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(files['model.json']) as tf.io.ModelJSON;
  } catch (e) {
    throw errors.badFile('model.json', `not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw errors.badFile('model.json', 'not a TensorFlow.js layers model (no modelTopology or weightsManifest)');
  }
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const parts = json.weightsManifest.flatMap((group) =>
    group.paths.map((path) => {
      const data = files[path];
      if (!(data instanceof Uint8Array)) throw errors.badFile(path, 'missing (named in model.json)');
      return data;
    }),
  );
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const expected = specs.reduce(
    (n, s) => n + (BYTES[s.dtype] ?? 4) * s.shape.reduce((a, b) => a * b, 1),
    0,
  );
  if (specs.every((s) => s.quantization === undefined) && total !== expected) {
    throw errors.badFile(json.weightsManifest[0]?.paths[0] ?? WEIGHTS_FILE, `expected ${expected} bytes, found ${total}`);
  }
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    weightData.set(p, offset);
    offset += p.byteLength;
  }
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      weightSpecs: specs,
      weightData: weightData.buffer,
    }),
  );
}
