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
import { scoreGenerator } from '../src/eval/evaluate.js';
import { featureStats, predictSplit } from '../src/eval/metrics.js';
import {
  averagedImageNetwork,
  createPart,
  ganGradients,
  planGanStep,
  sampleImages,
  type GanLoss,
  type GanSpec,
  type NetworkPart,
} from '../src/models/index.js';
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
  label: string;
  grid?: string;
}

function parse(argv: string[]): Options {
  const o: Options = {
    epochs: 3, seed: 1, lrD: 2e-4, lrG: 2e-4, realLabel: 1, noise: 100,
    widths: [64, 32, 16, 16, 32], ema: 0.999, batch: 64, spectralNorm: false, lrDecay: 'none', dropout: 0.3, beta1: 0.5, beta2: 0.999,
    loss: 'bce', truncation: [1], label: 'baseline',
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
      case '--label': o.label = value; break;
      case '--grid': o.grid = value; break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  if (o.widths.length !== 5 || o.widths.some((w) => !(w >= 1))) throw new Error('--widths: five positive integers');
  if (o.truncation.some((x) => !(x > 0))) throw new Error('--truncation: positive numbers');
  return o;
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
  const steps = sampler.batchesPerEpoch * o.epochs;
  const started = performance.now();
  let last = { d: 0, g: 0 };
  for (let step = 0; step < steps; step++) {
    const batch = sampler.next();
    const real = gatherBatch(dataset.train, batch.indices, 'tanh');
    const plan = planGanStep(rng, o.batch, spec.noiseDim);
    const lrScale = o.lrDecay === 'linear' ? 1 - step / steps : 1;
    const losses = tf.tidy(() => {
      const r = ganGradients({ generator, discriminator }, tf.tensor(real, [o.batch, 28, 28, 1]), plan, 1, spec.realLabel, o.loss);
      discriminator.apply(r.discriminatorGrads, lrScale);
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
  average?.dispose();
  classifier.dispose();
  console.log(JSON.stringify({
    ...o, backend: backend.name, steps, trainSeconds: Number(trainSeconds.toFixed(1)), ...raw,
    ...(averaged ? { ema: { decay: o.ema, ...averaged } } : {}), ...(truncated.length > 0 ? { truncated } : {}), finalLosses: last,
  }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
