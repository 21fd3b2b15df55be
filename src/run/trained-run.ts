/**
 * Reading the trained networks out of a run directory, for `paragen sample`
 * and `paragen eval`: the run's `config.json`, then the newest checkpoint that
 * verifies, then the networks asked for, rebuilt from their standard
 * TensorFlow.js artifacts.
 *
 * A reader never changes the run directory: unlike `loadLatestCheckpoint`
 * (used by a resuming trainer, which owns the directory), it leaves the
 * temporary folders of checkpoint writes alone, since a trainer may be writing
 * one right now.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, ParagenError } from '../errors.js';
import { adamConfig, averagedName, loadPart, modelSpec, type ModelSpec, type NetworkName, type NetworkPart } from '../models/index.js';
import { CHECKPOINTS_DIR, listCheckpoints, verifyCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import type { RunConfig } from './config-schema.js';
import { readRunConfig } from './run-dir.js';

/** A run's trained networks, loaded from its newest good checkpoint. */
export interface TrainedRun {
  readonly dir: string;
  readonly config: RunConfig;
  readonly spec: ModelSpec;
  /** The checkpoint the networks come from. */
  readonly step: number;
  readonly checkpoint: string;
  /** The networks asked for, by name. */
  readonly parts: ReadonlyMap<NetworkName, NetworkPart>;
  /** Those loaded as the moving average of their weights (`generator-ema/`; `--ema`). */
  readonly averaged: ReadonlySet<NetworkName>;
  /** Newer checkpoints that failed verification and were skipped, one message each. */
  readonly warnings: readonly string[];
  /** The part `name`; it must have been asked for. */
  part(name: NetworkName): NetworkPart;
  /** Frees the networks' tensors. */
  dispose(): void;
}

export interface OpenTrainedRunOptions {
  /** Which networks to load, given the run's model; default every network of the model. */
  readonly networks?: (spec: ModelSpec) => readonly NetworkName[];
  /** Told of each skipped checkpoint as it is skipped (before any network loads). */
  readonly onWarning?: (message: string) => void;
  /** Load a network's moving average where the checkpoint has one (default true). */
  readonly averaged?: boolean;
}

/** The newest checkpoint of `dir` that verifies, and a message for each newer one that does not. */
export async function newestGoodCheckpoint(
  dir: string,
  onWarning?: (message: string) => void,
): Promise<{ checkpoint: LoadedCheckpoint | undefined; warnings: string[]; found: number }> {
  const steps = (await listCheckpoints(dir)).reverse();
  const warnings: string[] = [];
  for (const step of steps) {
    const path = join(dir, CHECKPOINTS_DIR, String(step));
    try {
      return { checkpoint: await verifyCheckpoint(path, step), warnings, found: steps.length };
    } catch (error) {
      if (!(error instanceof ParagenError) || error.code !== 'CHECKPOINT') throw error;
      const message = `checkpoint ${path} is corrupt and was skipped: ${error.message}`;
      warnings.push(message);
      onWarning?.(message);
    }
  }
  return { checkpoint: undefined, warnings, found: steps.length };
}

/**
 * Loads a run's networks for inference. Every failure is a one-line
 * `BAD_FILE` error naming the directory or file (exit code 2 on the CLI): no
 * such directory, not a run, no checkpoint yet, no checkpoint that verifies,
 * a network missing from the checkpoint or not of the model's shape.
 */
export async function openTrainedRun(dir: string, options: OpenTrainedRunOptions = {}): Promise<TrainedRun> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw errors.badFile(dir, 'no such run directory');
    throw error;
  });
  if (!info.isDirectory()) throw errors.badFile(dir, 'not a run directory (it is a file)');
  const config = await readRunConfig(dir);
  const spec = modelSpec(config.model);
  const { checkpoint, warnings, found } = await newestGoodCheckpoint(dir, options.onWarning);
  if (!checkpoint) {
    throw errors.badFile(
      dir,
      found === 0
        ? `the run has no checkpoint yet (nothing in ${CHECKPOINTS_DIR}/)`
        : `none of its ${found} checkpoint${found === 1 ? '' : 's'} verifies`,
    );
  }
  const names = options.networks?.(spec) ?? (spec.networks as readonly NetworkName[]);
  const parts = new Map<NetworkName, NetworkPart>();
  const averaged = new Set<NetworkName>();
  try {
    for (const name of names) {
      const useAverage = options.averaged !== false && checkpoint.files.has(`${averagedName(name)}/model.json`);
      parts.set(name, await loadNetwork(spec, checkpoint, name, useAverage ? averagedName(name) : name));
      if (useAverage) averaged.add(name);
    }
  } catch (error) {
    for (const p of parts.values()) p.dispose();
    throw error;
  }
  return {
    dir,
    config,
    spec,
    step: checkpoint.step,
    checkpoint: checkpoint.path,
    parts,
    averaged,
    warnings,
    part(name) {
      const part = parts.get(name);
      if (!part) throw errors.internal(`network ${name} was not loaded from ${checkpoint.path}`);
      return part;
    },
    dispose() {
      for (const p of parts.values()) p.dispose();
      parts.clear();
    },
  };
}

/** The network that turns noise into images: a GAN's generator, a VAE's decoder. */
export function imageNetwork(spec: ModelSpec): 'generator' | 'decoder' {
  return spec.kind === 'gan' ? 'generator' : 'decoder';
}

/** The input width a network of `spec` takes: noise for a generator, z for a decoder. */
function expectedInput(spec: ModelSpec, name: NetworkName): number[] | undefined {
  if (name === 'generator' && spec.kind === 'gan') return [spec.noiseDim];
  if (name === 'decoder' && spec.kind === 'vae') return [spec.latentDim];
  if (name === 'discriminator' || name === 'encoder') return [...spec.imageShape];
  return undefined;
}

/** One network's weights from the checkpoint's folder `folder` (the optimizer state is not needed to run it). */
async function loadNetwork(spec: ModelSpec, checkpoint: LoadedCheckpoint, name: NetworkName, folder: string): Promise<NetworkPart> {
  const file = (suffix: string): Uint8Array => {
    const data = checkpoint.files.get(`${folder}/${suffix}`);
    if (!data) throw errors.badFile(checkpoint.path, `has no ${folder}/${suffix} (a checkpoint of ${spec.name} holds ${spec.networks.join(' and ')})`);
    return data;
  };
  const modelJson = Buffer.from(file('model.json')).toString('utf8');
  const weights = file('weights.bin');
  let part: NetworkPart;
  try {
    part = await loadPart(name, { 'model.json': modelJson, 'weights.bin': weights }, adamConfig(spec));
  } catch (error) {
    if (error instanceof ParagenError) throw errors.badFile(join(checkpoint.path, folder), error.message);
    throw error;
  }
  const expected = expectedInput(spec, name);
  const got = part.model.inputs[0]!.shape.slice(1);
  if (expected && got.join(',') !== expected.join(',')) {
    part.dispose();
    throw errors.badFile(
      join(checkpoint.path, folder, 'model.json'),
      `${name} takes input [${got.join(', ')}], but ${spec.name}'s takes [${expected.join(', ')}]`,
    );
  }
  return part;
}
