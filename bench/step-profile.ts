/**
 * Where a training step's time goes, on one wasm worker:
 *
 *   npm run bench:profile [-- --model vae-mlp --batches 128,64 --steps 40]
 *
 * For each batch size it times the phases of an in-process step (the same
 * calls `LocalEngine.step` makes): building the batch tensor, forward and
 * backward (`vaeGradients` / `ganGradients`), the finiteness check that reads
 * the losses back, and the Adam updates. Then steps under `tf.profile` count
 * the kernels each phase dispatches and the time spent inside them. Phase
 * times are medians over `--steps` steps after 5 warm-up steps, the batch
 * sizes taking turns; kernel times are the mean of 5 profiled steps.
 *
 * It answers: how much of a step shrinks when the batch is halved (what a
 * second data-parallel replica can save) and how much does not (dispatch,
 * Adam, which every replica runs in full).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/index.js';
import { BatchSampler, gatherBatch, loadDataset } from '../src/data/index.js';
import {
  createPart,
  ganGradients,
  modelSpec,
  planGanStep,
  planVaeStep,
  vaeGradients,
  type NetworkPart,
} from '../src/models/index.js';
import { Rng } from '../src/rng.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'vae-mlp' },
    batches: { type: 'string', default: '128,64' },
    steps: { type: 'string', default: '40' },
    json: { type: 'boolean', default: false },
  },
});
const spec = modelSpec(values.model);
const batches = values.batches.split(',').map(Number);
const steps = Number(values.steps);
const WARMUP = 5;

type Phase = 'data' | 'gradients' | 'check' | 'adam';
const PHASES: readonly Phase[] = ['data', 'gradients', 'check', 'adam'];

interface Profile {
  batch: number;
  /** Median ms per phase, and their sum. */
  phases: Record<Phase | 'step', number>;
  /** Kernels the gradient phase dispatches and the ms inside them (profiled), and Adam's kernels. */
  gradientKernels: number;
  gradientKernelMs: number;
  adamKernels: number;
  /** Every kernel of forward + backward + Adam by total time: name, calls, ms. */
  kernels: { name: string; calls: number; ms: number }[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

await useBackend('wasm');
const dataset = loadDataset('mnist');

interface Setup {
  /** One timed step (recorded when `record`). */
  step(record: boolean): void;
  /** One step under the profiler, its kernels added to the tallies. */
  profileStep(): Promise<void>;
  /** The profile so far; frees the networks. */
  finish(): Profile;
}

const PROFILED_STEPS = 5;

function setUp(batch: number): Setup {
  const parts = Object.fromEntries(spec.networks.map((n) => [n, createPart(spec, n, 1)])) as Record<string, NetworkPart>;
  const sampler = new BatchSampler(dataset.train.count, batch, 1, { dropLast: true });
  const rng = new Rng(7);
  const pixels = new Float32Array(batch * spec.imageShape.reduce<number>((a, b) => a * b, 1));
  const gradients = (x: tf.Tensor) => {
    if (spec.kind === 'gan') {
      const g = ganGradients(
        { generator: parts.generator!, discriminator: parts.discriminator! },
        x,
        planGanStep(rng, batch, spec.noiseDim),
        1,
        spec.realLabel,
      );
      return { losses: [g.dLoss, g.gLoss], grads: { generator: g.generatorGrads, discriminator: g.discriminatorGrads } };
    }
    const v = vaeGradients({ encoder: parts.encoder!, decoder: parts.decoder! }, x, planVaeStep(rng, batch, spec.latentDim));
    return { losses: [v.loss, v.bce, v.kl], grads: { encoder: v.encoderGrads, decoder: v.decoderGrads } };
  };
  const times: Record<Phase, number[]> = { data: [], gradients: [], check: [], adam: [] };
  const oneStep = (record: boolean) => {
    let t = performance.now();
    const lap = (phase: Phase) => {
      const now = performance.now();
      if (record) times[phase].push(now - t);
      t = now;
    };
    gatherBatch(dataset.train, sampler.next().indices, spec.range, pixels);
    const x = tf.tensor4d(pixels, [batch, ...spec.imageShape]);
    lap('data');
    // wasm kernels run synchronously: when a call returns, its work is done.
    const out = gradients(x);
    lap('gradients');
    const all = Object.values(out.grads).flat();
    const checks = tf.tidy(() => tf.stack([...out.losses, tf.addN(all.map((g) => tf.sum(g)))]));
    checks.dataSync();
    lap('check');
    tf.tidy(() => {
      for (const [name, grads] of Object.entries(out.grads)) parts[name]!.apply(grads);
    });
    lap('adam');
    tf.dispose([x, checks, ...out.losses, ...all]);
  };
  const byName = new Map<string, { calls: number; ms: number }>();
  const tally = { gradientKernels: 0, gradientKernelMs: 0, adamKernels: 0 };
  const profileStep = async () => {
    gatherBatch(dataset.train, sampler.next().indices, spec.range, pixels);
    const x = tf.tensor4d(pixels, [batch, ...spec.imageShape]);
    let out: ReturnType<typeof gradients> | undefined;
    const gradProfile = await kernelTimes(() => {
      out = gradients(x);
    });
    const adamProfile = await kernelTimes(() =>
      tf.tidy(() => {
        for (const [name, grads] of Object.entries(out!.grads)) parts[name]!.apply(grads);
      }),
    );
    tf.dispose([x, ...out!.losses, ...Object.values(out!.grads).flat()]);
    for (const k of [...gradProfile, ...adamProfile]) {
      const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls += 1 / PROFILED_STEPS;
      e.ms += k.ms / PROFILED_STEPS;
      byName.set(k.name, e);
    }
    tally.gradientKernels += gradProfile.length / PROFILED_STEPS;
    tally.gradientKernelMs += gradProfile.filter((k) => !nested(k.name)).reduce((s, k) => s + k.ms, 0) / PROFILED_STEPS;
    tally.adamKernels += adamProfile.length / PROFILED_STEPS;
  };
  const finish = (): Profile => {
    for (const p of Object.values(parts)) p.dispose();
    const phases = Object.fromEntries(PHASES.map((p) => [p, median(times[p])])) as Record<Phase, number>;
    return {
      batch,
      phases: { ...phases, step: PHASES.reduce((s, p) => s + phases[p], 0) },
      ...tally,
      kernels: [...byName].map(([name, e]) => ({ name, calls: Math.round(e.calls), ms: e.ms })).sort((a, b) => b.ms - a.ms),
    };
  };
  return { step: oneStep, profileStep, finish };
}

/** A custom-gradient op's entry, whose time includes the kernels it runs (e.g. `fusedMatMul__op`). */
function nested(name: string): boolean {
  return name.endsWith('__op');
}

/** The kernels `f` runs, each with the ms the wasm backend timed around it (synchronously). */
async function kernelTimes(f: () => void): Promise<{ name: string; ms: number }[]> {
  const info = await tf.profile(f);
  return info.kernels.map((k) => ({ name: k.name, ms: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN }));
}

// The batch sizes take turns, step by step, so that a noisy neighbour slows them alike.
const setups = batches.map(setUp);
for (let i = 0; i < WARMUP; i++) for (const s of setups) s.step(false);
for (let i = 0; i < steps; i++) for (const s of setups) s.step(true);
for (let i = 0; i < PROFILED_STEPS; i++) for (const s of setups) await s.profileStep();
const profiles = setups.map((s) => s.finish());
if (values.json) {
  console.log(JSON.stringify({ model: spec.name, backend: 'wasm', profiles }));
} else {
  console.log(`${spec.name} on wasm, one thread: median ms per step over ${steps} steps\n`);
  console.log(['batch', ...PHASES, 'step', 'samples/s', 'kernels', 'in kernels*', 'adam kernels'].join('\t'));
  for (const p of profiles) {
    console.log(
      [
        p.batch,
        ...PHASES.map((ph) => p.phases[ph].toFixed(2)),
        p.phases.step.toFixed(2),
        ((p.batch / p.phases.step) * 1000).toFixed(0),
        Math.round(p.gradientKernels),
        p.gradientKernelMs.toFixed(2),
        Math.round(p.adamKernels),
      ].join('\t'),
    );
  }
  console.log('* forward + backward under the profiler, which adds its own cost per kernel');
  console.log(`\nKernels of one step (forward, backward, Adam), ms; ${profiles.map((p) => `batch ${p.batch}`).join(' / ')}:`);
  const first = profiles[0]!;
  for (const k of first.kernels.filter((k) => k.ms >= 0.1 && !nested(k.name))) {
    const others = profiles.slice(1).map((p) => p.kernels.find((o) => o.name === k.name)?.ms.toFixed(2) ?? '-');
    console.log(`  ${k.name.padEnd(22)} ${String(k.calls).padStart(4)} calls  ${[k.ms.toFixed(2), ...others].map((v) => v.padStart(7)).join(' /')}`);
  }
  if (profiles.length >= 2) {
    const [a, b] = profiles;
    const fixed = (b!.batch * a!.phases.step - a!.batch * b!.phases.step) / (b!.batch - a!.batch);
    console.log(
      `\nFit step(batch) = fixed + per-sample·batch: fixed ${fixed.toFixed(2)} ms, ` +
        `per sample ${((a!.phases.step - fixed) / a!.batch).toFixed(3)} ms. ` +
        `Ideal data-parallel speedup on 2 workers at batch ${a!.batch} (no communication): ` +
        `${(a!.phases.step / (fixed + (a!.phases.step - fixed) / 2)).toFixed(2)}×`,
    );
  }
}
