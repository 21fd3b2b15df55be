/**
 * A run directory with one checkpoint of freshly initialised networks: what
 * the sampling and serving benchmarks need (their speed does not depend on
 * the weights' values), without training first.
 */
import type { ModelName } from '../src/domain.js';
import { createParts, modelSpec } from '../src/models/index.js';
import { encodePart } from '../src/models/state.js';
import { writeCheckpoint } from '../src/run/checkpoint.js';
import { parseConfig } from '../src/run/config.js';
import { openRunDir } from '../src/run/run-dir.js';

export async function writeUntrainedRun(dir: string, model: ModelName): Promise<void> {
  const runDir = await openRunDir({ model, out: dir });
  try {
    await runDir.writeConfig(parseConfig({ model, steps: 1, out: dir }));
    const parts = Object.values(createParts(modelSpec(model), 1));
    const files: Record<string, Uint8Array | string> = {};
    for (const part of parts) Object.assign(files, await encodePart(part));
    for (const part of parts) part.dispose();
    await writeCheckpoint(dir, 1, files);
  } finally {
    await runDir.close();
  }
}
