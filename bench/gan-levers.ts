/**
 * `npm run bench:gan-levers -- [options]`: trains one dcgan-small variant in
 * this process on MNIST for a number of epochs and scores it as `paragen
 * eval` does (inception score, FID and class shares with paragen's
 * classifier, on 10,000 samples), to measure training levers one at a time
 * with the same seed (README, "Quality, measured"). Its defaults are the
 * TensorFlow tutorial's settings, dcgan-small's before it was tuned. Prints
 * one JSON line with three scores: the generator as trained; with "standing
 * statistics" (batch norm's moving statistics recomputed for its final
 * weights); and, with --ema, an exponential moving average of its weights
 * (with standing statistics). Writes the sample grids with --grid.
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
 *   --label NAME      a name for the line
 *   --grid PATH       write 8×8 grids of the scored generators' samples (PATH, PATH-standing, PATH-ema)
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
import { createPart, ganGradients, planGanStep, sampleImages, type GanSpec, type NetworkPart } from '../src/models/index.js';
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
  label: string;
  grid?: string;
}

function parse(argv: string[]): Options {
  const o: Options = {
    epochs: 3, seed: 1, lrD: 2e-4, lrG: 2e-4, realLabel: 1, noise: 100,
    widths: [64, 32, 16, 16, 32], ema: 0.999, batch: 64, spectralNorm: false, label: 'baseline',
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
      case '--label': o.label = value; break;
      case '--grid': o.grid = value; break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  if (o.widths.length !== 5 || o.widths.some((w) => !(w >= 1))) throw new Error('--widths: five positive integers');
  return o;
}

/** Shadow copies of `part`'s trainable weights, moved toward them after each update. */
class WeightAverage {
  readonly #shadow: tf.Variable[];
  #updates = 0;
  constructor(readonly part: NetworkPart, readonly decay: number) {
    this.#shadow = part.trainableVariables.map((v) => tf.variable(v.clone(), false));
  }
  update(): void {
    // The usual warm-up: early on the average follows the weights closely.
    this.#updates += 1;
    const d = Math.min(this.decay, (1 + this.#updates) / (10 + this.#updates));
    tf.tidy(() => this.part.trainableVariables.forEach((v, i) => this.#shadow[i]!.assign(tf.add(tf.mul(this.#shadow[i]!, d), tf.mul(v, 1 - d)))));
  }
  /** Puts the averaged weights into the part (the end of training). */
  load(): void {
    this.part.trainableVariables.forEach((v, i) => v.assign(this.#shadow[i]!));
  }
}

/**
 * "Standing statistics": batch norm's moving mean and variance recomputed for
 * the generator's final weights (they trail the weights of the last ~100
 * steps, and do not belong to averaged weights at all), by running it in
 * training mode on `batches` noise batches (momentum 0.99: 500 batches leave
 * under 1% of the old statistics).
 */
function standingStatistics(generator: NetworkPart, noiseDim: number, rng: Rng, batches = 500, batchSize = 64): void {
  for (let i = 0; i < batches; i++) {
    const noise = rng.normals(new Float32Array(batchSize * noiseDim));
    tf.tidy(() => void generator.model.apply(tf.tensor2d(noise, [batchSize, noiseDim]), { training: true }));
  }
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
  const spec: GanSpec = customGan('dcgan-small', { dense, deconv: [d1, d2], conv: [c1, c2] }, { noiseDim: o.noise, realLabel: o.realLabel });
  const dataset = loadDataset('mnist');
  const generator = createPart(spec, 'generator', o.seed, { lr: o.lrG });
  const discriminator = createPart(spec, 'discriminator', o.seed, { lr: o.lrD });
  const average = o.ema > 0 ? new WeightAverage(generator, o.ema) : undefined;
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
    const losses = tf.tidy(() => {
      const r = ganGradients({ generator, discriminator }, tf.tensor(real, [o.batch, 28, 28, 1]), plan, 1, spec.realLabel);
      discriminator.apply(r.discriminatorGrads);
      generator.apply(r.generatorGrads);
      return tf.stack([r.dLoss, r.gLoss]);
    });
    spectral?.project();
    average?.update();
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
  const score = async (grid?: string) => {
    const scores = await scoreGenerator(classifier, spec, generator, 10_000, 0, testStats);
    if (grid) writePng(grid, imageGrid(await sampleImages(spec, generator, 64, new Rng(o.seed)), 64, 28, 28, 1));
    const shares = scores.classShares.map((s) => Number((s * 100).toFixed(1)));
    return {
      inceptionScore: Number(scores.inceptionScore.toFixed(3)), fid: Number(scores.fid.toFixed(2)),
      minShare: Math.min(...shares), maxShare: Math.max(...shares), shares,
    };
  };
  const raw = await score(o.grid);
  standingStatistics(generator, spec.noiseDim, new Rng(o.seed + 1));
  const standing = await score(o.grid?.replace(/\.png$/, '-standing.png'));
  average?.load();
  if (average) standingStatistics(generator, spec.noiseDim, new Rng(o.seed + 1));
  const averaged = average ? await score(o.grid?.replace(/\.png$/, '-ema.png')) : undefined;
  classifier.dispose();
  console.log(JSON.stringify({
    ...o, backend: backend.name, steps, trainSeconds: Number(trainSeconds.toFixed(1)), ...raw, standing,
    ...(averaged ? { ema: { decay: o.ema, ...averaged } } : {}), finalLosses: last,
  }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
