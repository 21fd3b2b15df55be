/**
 * The GPU check: `npm run bench:gpu [-- --models dcgan,vae-mlp --steps 5]`.
 *
 * One command for a GPU machine: prints the adapter Dawn offers, each
 * model's gradients on webgpu against the cpu backend (max |diff| / max |ref|),
 * then samples/s of training on webgpu (one process host, `single`) next to
 * wasm on every core (`data` with one replica per core) in the same run. On
 * lavapipe (scripts/lavapipe.sh) it runs too, and says it is a software device.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/index.js';
import { adapterLine, probeWebgpu } from '../src/backend/webgpu.js';
import { loadDataset } from '../src/data/index.js';
import { createParts, modelSpec, type GanSpec, type VaeSpec } from '../src/models/registry.js';
import { ganGradients, planGanStep, planVaeStep, vaeGradients } from '../src/models/steps.js';
import { ActorEngine } from '../src/parallel/index.js';
import { Rng } from '../src/rng.js';
import { parseConfig } from '../src/run/config.js';
import type { ModelName } from '../src/domain.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'dcgan,vae-mlp' },
    steps: { type: 'string', default: '5' },
    'dcgan-batch': { type: 'string', default: '64' },
    'vae-batch': { type: 'string', default: '128' },
  },
});
const models = values.models.split(',') as ModelName[];
const timedSteps = Number(values.steps);
const cores = availableParallelism();

const probe = await probeWebgpu();
if (!probe.ok) {
  console.log(`no webgpu adapter: ${probe.missing}`);
  process.exit(1);
}
const { adapter } = probe;
console.log(`adapter: ${adapterLine(adapter)}`);
if (adapter.fallback) console.log('this is a software (fallback) device: its speed says nothing about a GPU; its correctness does');

/** Gradients of one step at batch 2, read back, on the active backend. */
async function gradients(model: ModelName): Promise<Float32Array[]> {
  const spec = modelSpec(model);
  const x = tf.tensor4d(new Float32Array(2 * 784).map((_, i) => Math.sin(i) * 0.9), [2, 28, 28, 1]);
  const rng = new Rng(4);
  let grads: tf.Tensor[];
  let scalars: tf.Tensor[];
  let dispose: () => void;
  if (spec.kind === 'gan') {
    const p = createParts(spec as GanSpec, 3);
    const g = ganGradients(p, x, planGanStep(rng, 2, (spec as GanSpec).noiseDim));
    [grads, scalars] = [[...g.generatorGrads, ...g.discriminatorGrads], [g.dLoss, g.gLoss]];
    dispose = () => Object.values(p).forEach((n) => n.dispose());
  } else {
    const p = createParts(spec as VaeSpec, 3);
    const v = vaeGradients(p, x, planVaeStep(rng, 2, (spec as VaeSpec).latentDim));
    [grads, scalars] = [[...v.encoderGrads, ...v.decoderGrads], [v.loss, v.bce, v.kl]];
    dispose = () => Object.values(p).forEach((n) => n.dispose());
  }
  try {
    return await Promise.all(grads.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose([x, ...grads, ...scalars]);
    dispose();
  }
}

function worst(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let out = 0;
  b.forEach((y, k) => {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < y.length; i++) {
      diff = Math.max(diff, Math.abs(a[k]![i]! - y[i]!));
      scale = Math.max(scale, Math.abs(y[i]!));
    }
    out = Math.max(out, scale === 0 ? diff : diff / scale);
  });
  return out;
}

console.log('\ncorrectness (one step, batch 2): max |webgpu − cpu| / max |cpu| over every gradient tensor');
for (const model of models) {
  await useBackend('cpu');
  const reference = await gradients(model);
  await useBackend('webgpu');
  console.log(`  ${model.padEnd(12)} ${worst(await gradients(model), reference).toExponential(2)}`);
}
await useBackend('wasm');

/** Samples/s of `timedSteps` steps after one warm-up step. */
async function throughput(model: ModelName, backend: 'webgpu' | 'wasm'): Promise<{ rate: number; how: string }> {
  const batchSize = Number(model.startsWith('vae') ? values['vae-batch'] : values['dcgan-batch']);
  const data = backend === 'wasm' && cores > 1;
  const config = parseConfig({
    model,
    backend,
    batchSize,
    strategy: data ? 'data' : 'single',
    ...(data ? { workers: cores } : {}),
    steps: timedSteps + 1,
  });
  const engine = await ActorEngine.create(config, loadDataset('mnist'));
  try {
    await engine.step();
    const started = performance.now();
    for (let i = 0; i < timedSteps; i++) await engine.step();
    const seconds = (performance.now() - started) / 1000;
    return { rate: (timedSteps * batchSize) / seconds, how: `${engine.plan.strategy} × ${engine.plan.workers} (${engine.plan.host}), batch ${batchSize}` };
  } finally {
    await engine.close();
  }
}

console.log(`\nthroughput: ${timedSteps} steps after one warm-up; wasm on all ${cores} cores`);
console.log('| model | webgpu samples/s | how | wasm samples/s | how | webgpu / wasm |');
console.log('| --- | ---: | --- | ---: | --- | ---: |');
for (const model of models) {
  const gpu = await throughput(model, 'webgpu');
  const cpu = await throughput(model, 'wasm');
  console.log(`| ${model} | ${gpu.rate.toFixed(1)} | ${gpu.how} | ${cpu.rate.toFixed(1)} | ${cpu.how} | ${(gpu.rate / cpu.rate).toFixed(2)}× |`);
}
console.log(`\ndevice: ${adapter.description} (${adapter.fallback ? 'software, fallback adapter' : 'hardware adapter'})`);
