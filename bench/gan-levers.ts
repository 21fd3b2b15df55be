/**
 * `npm run bench:gan-levers -- [options]`: trains one dcgan-small variant in
 * this process on MNIST for a number of epochs and scores it as `paragen
 * eval` does (inception score, FID and class shares with paragen's
 * classifier, on 10,000 samples), to measure training levers one at a time
 * with the same seed (README, "Quality, measured"). Its defaults are the
 * TensorFlow tutorial's settings, dcgan-small's before it was tuned. Prints
 * one JSON line with two scores: the generator as trained and, with --ema,
 * the moving average of its weights as `--ema` keeps it (its batch-norm
 * statistics recomputed, as checkpoints hold it). Writes the sample grids
 * with --grid.
 *
 *   --epochs N        passes over the training set (3)
 *   --seed N          run seed (1)
 *   --lr-d X --lr-g X learning rates of the discriminator and generator (2e-4 each)
 *   --real-label X    the discriminator's target for real images (1: no smoothing)
 *   --noise N         latent size (100)
 *   --widths a,b,c,d,e  dense, deconv1, deconv2, conv1, conv2 filters (64,32,16,16,32)
 *   --ema X           the moving average's decay (0.999; 0: off)
 *   --batch N         batch size (64)
 *   --spectral-norm 1 divide each of D's kernels by its largest singular value after every update
 *                     (one power iteration per step: spectral normalisation by projection)
 *   --lr-decay linear the learning rates fall linearly to 0 over the run (none: constant)
 *   --dropout X       the discriminator's dropout rate (0.3)
 *   --beta1 X --beta2 X  Adam's moment decays (0.5, 0.999)
 *   --loss bce|hinge  the adversarial loss: the tutorial's non-saturating BCE (bce), or the hinge
 *                     loss (D: mean(relu(1 - real)) + mean(relu(1 + fake)), G: -mean(fake));
 *                     --real-label applies to bce only
 *   --truncation a,b  also score the moving average (the trained generator without --ema) with its
 *                     noise scaled by each factor (the truncation trick; 1: off), as `truncated`
 *   --select a,b      also score the moving average (the trained generator without --ema) on the
 *                     fraction a (b, …) of its samples the trained discriminator rates most real:
 *                     10,000/a draws, ranked by D's logit, the top 10,000 kept in draw order
 *                     (discriminator-ranked selection, after Azadi et al.'s rejection sampling), as `selected`
 *   --top-k X         the generator's loss over only the fraction X of each batch's fakes that D rates
 *                     most real (Sinha et al.'s top-k training; 1: all); BCE only, without --r1
 *   --d-steps N       discriminator updates per generator update (1): the extra ones each on a batch
 *                     of their own, with fresh noise (--r1 falls on the generator's steps only)
 *   --r1 G[,K]        R1 penalty (Mescheder et al.): D's loss gains G/2·E‖∇ₓD(x)‖² on the real batch,
 *                     every K steps (K = 1 by default), scaled by K (StyleGAN2's lazy regularisation)
 *   --cr L[,S]        consistency regularisation (Zhang et al.'s CR-GAN): D's loss gains
 *                     L·mean (D(x) − D(T(x)))² on the real batch, T a random translation of each
 *                     image by up to S pixels (2 by default), the border filled with the background
 *   --label NAME      a name for the line
 *   --grid PATH       write 8×8 grids of the scored generators' samples (PATH, PATH-ema)
 *
 * One process trains on one core (wasm runs one thread per instance in Node),
 * so two variants can run side by side on a 2-core machine.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/index.js';
import { BatchSampler, gatherBatch, imageGrid, loadDataset, writePng } from '../src/data/index.js';
import { getClassifier } from '../src/eval/classifier.js';
import { scoreGenerator, scoreImages } from '../src/eval/evaluate.js';
import { featureStats, predictSplit, type FeatureStats } from '../src/eval/metrics.js';
import type { Classifier } from '../src/eval/classifier.js';
import {
  averagedImageNetwork,
  createPart,
  ganGradients,
  penaltyGradients,
  planGanStep,
  r1Weight,
  sampleImages,
  type GanGradients,
  type GanLoss,
  type GanParts,
  type GanStepPlan,
  type GanSpec,
  type NetworkPart,
} from '../src/models/index.js';
import { bceWithLogits } from '../src/models/losses.js';
import { discriminatorBackward } from '../src/models/steps.js';
import { customGan } from '../src/models/registry.js';
import { Rng } from '../src/rng.js';

interface Options {
  epochs: number;
  seed: number;
  lrD: number;
  lrG: number;
  realLabel: number;
  noise: number;
  widths: number[];
  ema: number;
  batch: number;
  spectralNorm: boolean;
  lrDecay: 'none' | 'linear';
  dropout: number;
  beta1: number;
  beta2: number;
  loss: GanLoss;
  truncation: number[];
  select: number[];
  topK: number;
  dSteps: number;
  r1: number;
  r1Every: number;
  cr: number;
  crShift: number;
  label: string;
  grid?: string;
}

function parse(argv: string[]): Options {
  const o: Options = {
    epochs: 3, seed: 1, lrD: 2e-4, lrG: 2e-4, realLabel: 1, noise: 100,
    widths: [64, 32, 16, 16, 32], ema: 0.999, batch: 64, spectralNorm: false, lrDecay: 'none', dropout: 0.3, beta1: 0.5, beta2: 0.999,
    loss: 'bce', truncation: [1], select: [], topK: 1, dSteps: 1, r1: 0, r1Every: 1, cr: 0, crShift: 2, label: 'baseline',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const num = Number(value);
    switch (flag) {
      case '--epochs': o.epochs = num; break;
      case '--seed': o.seed = num; break;
      case '--lr-d': o.lrD = num; break;
      case '--lr-g': o.lrG = num; break;
      case '--real-label': o.realLabel = num; break;
      case '--noise': o.noise = num; break;
      case '--widths': o.widths = value.split(',').map(Number); break;
      case '--ema': o.ema = num; break;
      case '--batch': o.batch = num; break;
      case '--spectral-norm': o.spectralNorm = num === 1; break;
      case '--lr-decay':
        if (value !== 'none' && value !== 'linear') throw new Error('--lr-decay: none or linear');
        o.lrDecay = value;
        break;
      case '--dropout': o.dropout = num; break;
      case '--beta1': o.beta1 = num; break;
      case '--beta2': o.beta2 = num; break;
      case '--loss':
        if (value !== 'bce' && value !== 'hinge') throw new Error('--loss: bce or hinge');
        o.loss = value;
        break;
      case '--truncation': o.truncation = (value ?? '').split(',').map(Number); break;
      case '--select': o.select = value.split(',').map(Number); break;
      case '--top-k': o.topK = num; break;
      case '--d-steps': o.dSteps = num; break;
      case '--r1': {
        const [gamma, every] = value.split(',').map(Number);
        o.r1 = gamma!;
        o.r1Every = every ?? 1;
        break;
      }
      case '--cr': {
        const [l, shift] = value.split(',').map(Number);
        o.cr = l!;
        if (shift !== undefined) o.crShift = shift;
        break;
      }
      case '--label': o.label = value; break;
      case '--grid': o.grid = value; break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  if (o.widths.length !== 5 || o.widths.some((w) => !(w >= 1))) throw new Error('--widths: five positive integers');
  if (o.truncation.some((x) => !(x > 0))) throw new Error('--truncation: positive numbers');
  if (o.select.some((x) => !(x > 0 && x <= 1))) throw new Error('--select: fractions in (0, 1]');
  if (!(o.topK > 0 && o.topK <= 1)) throw new Error('--top-k: a fraction in (0, 1]');
  if (o.topK < 1 && (o.loss !== 'bce' || o.r1 > 0)) throw new Error('--top-k: with the BCE loss and without --r1 only');
  if (!(Number.isInteger(o.dSteps) && o.dSteps >= 1)) throw new Error('--d-steps: a positive integer');
  if (!(o.r1 >= 0) || !(Number.isInteger(o.r1Every) && o.r1Every >= 1)) throw new Error('--r1: a penalty weight ≥ 0, then a positive interval');
  if (!(o.cr >= 0) || !(Number.isInteger(o.crShift) && o.crShift >= 1)) throw new Error('--cr: a weight ≥ 0, then a positive whole number of pixels');
  if (o.cr > 0 && o.topK < 1) throw new Error('--cr: not with --top-k');
  return o;
}

/** Each image moved by its own whole-pixel offset in [-shift, shift]², the border filled with -1 (the background). */
function translate(images: tf.Tensor4D, shift: number, rng: Rng): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w] = images.shape;
    const padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]], -1);
    const moved = Array.from({ length: n }, (_, i) =>
      padded.slice([i, rng.int(2 * shift + 1), rng.int(2 * shift + 1), 0], [1, h, w, -1]),
    );
    return tf.concat(moved) as tf.Tensor4D;
  });
}

/** ∂/∂w of weight · mean (D(x) − D(T(x)))², in `trainableVariables` order (CR-GAN's consistency term, on real images). */
function consistencyGradients(discriminator: NetworkPart, real: tf.Tensor4D, moved: tf.Tensor4D, weight: number): tf.Tensor[] {
  return penaltyGradients(discriminator, (d) => tf.mul(tf.mean(tf.square(tf.sub(d(real), d(moved)))), weight) as tf.Scalar);
}

/** Spectral normalisation by projection: each kernel (as a [fanIn, out] matrix) divided by σ, σ from one power iteration. */
class SpectralProjection {
  readonly #kernels: tf.Variable[];
  readonly #u: tf.Tensor[];
  constructor(part: NetworkPart, rng: Rng) {
    this.#kernels = part.trainableVariables.filter((v) => v.shape.length >= 2);
    this.#u = this.#kernels.map((k) => {
      const out = k.shape[k.shape.length - 1]!;
      return tf.keep(tf.tensor2d(rng.normals(new Float32Array(out)), [out, 1]));
    });
  }
  project(): void {
    this.#kernels.forEach((kernel, i) => {
      const next = tf.tidy(() => {
        const w = kernel.reshape([-1, kernel.shape[kernel.shape.length - 1]!]);
        const v = tf.div(tf.matMul(w, this.#u[i]!), tf.add(tf.norm(tf.matMul(w, this.#u[i]!)), 1e-12));
        const wtv = tf.matMul(w, v, true);
        const u = tf.div(wtv, tf.add(tf.norm(wtv), 1e-12));
        const sigma = tf.sum(tf.mul(v, tf.matMul(w, u)));
        kernel.assign(tf.div(kernel, sigma));
        return tf.keep(u);
      });
      this.#u[i]!.dispose();
      this.#u[i] = next;
    });
  }
}

/**
 * A BCE GAN step whose generator loss averages over only the `keep` fakes D
 * rates most real (top-k training); D's own loss is the usual one.
 */
function topKGradients(parts: GanParts, real: tf.Tensor, plan: GanStepPlan, realLabel: number, keep: number): GanGradients {
  const { generator, discriminator } = parts;
  return tf.tidy(() => {
    const noise = tf.tensor2d(plan.noise, [plan.batchSize, plan.noiseDim]);
    const pass = generator.forwardTaped(noise, { seed: plan.seeds.generator });
    const onD = discriminator.forwardTaped(pass.output, { seed: plan.seeds.fake });
    try {
      const onReal = discriminator.lossGrad(real, (l) => tf.mean(bceWithLogits(l, realLabel)), { seed: plan.seeds.real, wrt: 'weights' });
      const onFake = tf.valueAndGrad((l: tf.Tensor) => tf.mean(bceWithLogits(l, 0)))(onD.output);
      const fakeGrads = discriminator.vjpTaped(onD, pass.output, onFake.grad, 'weights').grads;
      const logits = onD.output.reshape([-1]);
      const threshold = tf.topk(logits, keep).values.slice([keep - 1], [1]);
      const mask = tf.cast(tf.greaterEqual(logits, threshold), 'float32').reshape(onD.output.shape);
      const forG = tf.valueAndGrad((l: tf.Tensor) => tf.div(tf.sum(tf.mul(bceWithLogits(l, 1), mask)), keep) as tf.Scalar)(onD.output);
      const fakeGrad = discriminator.vjpTaped(onD, pass.output, forG.grad, 'input').inputGrad!;
      const g = generator.vjpTaped(pass, noise, fakeGrad, 'weights');
      return {
        dLoss: tf.add(onReal.loss, onFake.value) as tf.Scalar,
        gLoss: forG.value as tf.Scalar,
        generatorGrads: g.grads,
        discriminatorGrads: onReal.grads.map((grad, i) => tf.add(grad, fakeGrads[i]!)),
      };
    } finally {
      onD.dispose();
      pass.dispose();
    }
  });
}

/** One extra discriminator update on its own batch and noise (the generator's batch statistics discarded). */
function discriminatorStep(parts: GanParts, real: tf.Tensor, plan: GanStepPlan, realLabel: number, loss: GanLoss, lrScale: number): void {
  tf.tidy(() => {
    const fake = parts.generator.forward(tf.tensor2d(plan.noise, [plan.batchSize, plan.noiseDim]), { training: true, seed: plan.seeds.generator });
    const d = discriminatorBackward(parts.discriminator, real, fake, plan.seeds, 1, realLabel, loss);
    parts.discriminator.apply(d.grads, lrScale);
  });
  parts.generator.discardStepState();
}

/**
 * Inception score, FID and class shares of the `count` images, out of
 * count/fraction draws, that the discriminator rates most real (kept in draw order).
 */
async function selectedScores(
  classifier: Classifier,
  spec: GanSpec,
  generator: NetworkPart,
  discriminator: NetworkPart,
  fraction: number,
  testStats: FeatureStats,
  count = 10_000,
): Promise<{ inceptionScore: number; fid: number; classShares: readonly number[] }> {
  const draws = Math.ceil(count / fraction);
  const images = await sampleImages(spec, generator, draws, new Rng(0));
  const size = 28 * 28;
  const logits = new Float32Array(draws);
  for (let start = 0; start < draws; start += 500) {
    const n = Math.min(500, draws - start);
    const out = tf.tidy(() =>
      discriminator.forward(tf.sub(tf.mul(tf.tensor4d(images.subarray(start * size, (start + n) * size), [n, 28, 28, 1]), 2), 1), { training: false }),
    );
    logits.set(await out.data().finally(() => out.dispose()), start);
  }
  const kept = Array.from({ length: draws }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!).slice(0, count).sort((a, b) => a - b);
  const chosen = new Float32Array(count * size);
  kept.forEach((from, to) => chosen.set(images.subarray(from * size, (from + 1) * size), to * size));
  return scoreImages(classifier, chosen, [28, 28, 1], testStats);
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const backend = await useBackend('auto');
  const [dense, d1, d2, c1, c2] = o.widths as [number, number, number, number, number];
  const spec: GanSpec = customGan('dcgan-small', { dense, deconv: [d1, d2], conv: [c1, c2], dropout: o.dropout }, { noiseDim: o.noise, realLabel: o.realLabel });
  const dataset = loadDataset('mnist');
  const generator = createPart(spec, 'generator', o.seed, { lr: o.lrG, beta1: o.beta1, beta2: o.beta2, average: o.ema });
  const discriminator = createPart(spec, 'discriminator', o.seed, { lr: o.lrD, beta1: o.beta1, beta2: o.beta2 });
  const spectral = o.spectralNorm ? new SpectralProjection(discriminator, new Rng(o.seed + 2)) : undefined;
  const sampler = new BatchSampler(dataset.train.count, o.batch, o.seed, { dropLast: true });
  const rng = new Rng(o.seed).fork();
  const shifts = new Rng(o.seed + 3);
  // With --d-steps N each step takes N batches, so an epoch has 1/N as many steps.
  const steps = Math.floor((sampler.batchesPerEpoch * o.epochs) / o.dSteps);
  const started = performance.now();
  let last = { d: 0, g: 0 };
  for (let step = 0; step < steps; step++) {
    const batch = sampler.next();
    const real = gatherBatch(dataset.train, batch.indices, 'tanh');
    const plan = planGanStep(rng, o.batch, spec.noiseDim);
    const lrScale = o.lrDecay === 'linear' ? 1 - step / steps : 1;
    for (let extra = 1; extra < o.dSteps; extra++) {
      const more = gatherBatch(dataset.train, sampler.next().indices, 'tanh');
      const dPlan = planGanStep(rng, o.batch, spec.noiseDim);
      const realMore = tf.tensor(more, [o.batch, 28, 28, 1]);
      discriminatorStep({ generator, discriminator }, realMore, dPlan, spec.realLabel, o.loss, lrScale);
      realMore.dispose();
      spectral?.project();
    }
    // Top-k: the kept fraction falls from 1 to --top-k over the first epoch.
    const keepFraction = 1 - (1 - o.topK) * Math.min(1, step / sampler.batchesPerEpoch);
    const keep = Math.max(1, Math.round(keepFraction * o.batch));
    const losses = tf.tidy(() => {
      const realT = tf.tensor(real, [o.batch, 28, 28, 1]);
      const r = keep < o.batch
        ? topKGradients({ generator, discriminator }, realT, plan, spec.realLabel, keep)
        : ganGradients({ generator, discriminator }, realT, plan, 1, spec.realLabel, o.loss, r1Weight({ gamma: o.r1, every: o.r1Every }, step));
      const cr = o.cr > 0 ? consistencyGradients(discriminator, realT as tf.Tensor4D, translate(realT as tf.Tensor4D, o.crShift, shifts), o.cr) : undefined;
      discriminator.apply(cr ? r.discriminatorGrads.map((g, i) => tf.add(g, cr[i]!)) : r.discriminatorGrads, lrScale);
      generator.apply(r.generatorGrads, lrScale);
      return tf.stack([r.dLoss, r.gLoss]);
    });
    spectral?.project();
    if (step % 200 === 0 || step === steps - 1) {
      const [d, g] = await losses.data();
      last = { d: d!, g: g! };
      process.stderr.write(`${o.label}: step ${step + 1}/${steps} d ${last.d.toFixed(3)} g ${last.g.toFixed(3)} ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
    losses.dispose();
  }
  const trainSeconds = (performance.now() - started) / 1000;
  const classifier = await getClassifier(dataset);
  const testStats = featureStats(await predictSplit(classifier, dataset.test, dataset.test.count));
  const score = async (network: NetworkPart, grid?: string, noiseScale = 1) => {
    const scores = await scoreGenerator(classifier, spec, network, 10_000, 0, testStats, noiseScale);
    if (grid) writePng(grid, imageGrid(await sampleImages(spec, network, 64, new Rng(o.seed)), 64, 28, 28, 1));
    const shares = scores.classShares.map((s) => Number((s * 100).toFixed(1)));
    return {
      inceptionScore: Number(scores.inceptionScore.toFixed(3)), fid: Number(scores.fid.toFixed(2)),
      minShare: Math.min(...shares), maxShare: Math.max(...shares), shares,
    };
  };
  const raw = await score(generator, o.grid);
  const average = await averagedImageNetwork(generator);
  const averaged = average ? await score(average, o.grid?.replace(/\.png$/, '-ema.png')) : undefined;
  const truncated = [];
  for (const psi of o.truncation.filter((x) => x !== 1)) {
    const { inceptionScore, fid, minShare, maxShare, shares } = await score(average ?? generator, undefined, psi);
    truncated.push({ psi, weights: average ? 'ema' : 'trained', is: inceptionScore, fid, minShare, maxShare, shares });
  }
  const selected = [];
  for (const fraction of o.select) {
    const r = await selectedScores(classifier, spec, average ?? generator, discriminator, fraction, testStats);
    const shares = r.classShares.map((x) => Number((x * 100).toFixed(1)));
    selected.push({
      fraction, weights: average ? 'ema' : 'trained', is: Number(r.inceptionScore.toFixed(3)), fid: Number(r.fid.toFixed(2)),
      minShare: Math.min(...shares), maxShare: Math.max(...shares), shares,
    });
  }
  average?.dispose();
  classifier.dispose();
  console.log(JSON.stringify({
    ...o, backend: backend.name, steps, trainSeconds: Number(trainSeconds.toFixed(1)), ...raw,
    ...(averaged ? { ema: { decay: o.ema, ...averaged } } : {}), ...(truncated.length > 0 ? { truncated } : {}),
    ...(selected.length > 0 ? { selected } : {}), finalLosses: last,
  }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
