/**
 * `evaluate()`: the quality of a trained run.
 *
 * - VAE: the mean negative ELBO per test image in nats — summed Bernoulli
 *   cross-entropy plus the analytic KL, as the PyTorch example's test loss —
 *   and its two terms.
 * - GAN: Inception Score and FID of generated images against the test set,
 *   computed with paragen's cached MNIST classifier (see classifier.ts), next
 *   to the real data's own scores, the ceiling a perfect generator reaches:
 *   the Inception Score of the test set, and the FID of as many training
 *   images as there are generated ones against the test set (FID shrinks as
 *   the sample grows, so the ceiling uses the same count).
 */
import { useBackend, type BackendName } from '../backend/index.js';
import { gatherBatch, loadDataset, type Dataset, type Split } from '../data/index.js';
import { errors } from '../errors.js';
import { evaluateVae, sampleImages, type GanSpec, type NetworkPart } from '../models/index.js';
import { checkImageShape } from '../parallel/index.js';
import { Rng } from '../rng.js';
import { parseConfig } from '../run/config.js';
import type { CommandInput, EvalConfig } from '../run/config-schema.js';
import { imageNetwork, openTrainedRun, type TrainedRun } from '../run/trained-run.js';
import { getClassifier, type Classifier, type ClassifierOptions, type TrainingPlan } from './classifier.js';
import { classShares, featureStats, fid, inceptionScore, predict, predictSplit, type FeatureStats } from './metrics.js';

/** What `evaluate()` takes: the `paragen eval` settings, `run` required. */
export type EvaluateInput = CommandInput<'eval'> & { readonly run: string };

/** Generated images scored for a GAN by default, as is usual for FID on MNIST. */
export const DEFAULT_EVAL_SAMPLES = 10_000;

export interface EvaluateHooks {
  /** Generated images to score (GAN); default 10,000. */
  readonly samples?: number;
  /** Use only the first `limit` test images (quick checks and tests: the figures are then not comparable). */
  readonly limit?: number;
  /** A classifier to use instead of the cached one (the caller keeps ownership). */
  readonly classifier?: Classifier;
  /** Where the classifier is cached, and how it is trained when it is not (progress hooks are set from here). */
  readonly classifierOptions?: Omit<ClassifierOptions, 'onProgress' | 'onTraining' | 'onWarning'>;
  /** The classifier must be trained first (minutes): told before it starts… */
  readonly onClassifierTraining?: (plan: TrainingPlan) => void;
  /** …and after each of its batches. */
  readonly onClassifierProgress?: (done: number, total: number) => void;
  /** Skipped corrupt checkpoints, a damaged classifier cache. */
  readonly onWarning?: (message: string) => void;
}

interface EvaluationBase {
  readonly run: string;
  readonly model: string;
  /** The step of the checkpoint evaluated. */
  readonly step: number;
  readonly checkpoint: string;
  readonly dataset: string;
  readonly seed: number;
  readonly backend: BackendName;
  /** Test images the figures are computed on. */
  readonly testImages: number;
  readonly seconds: number;
  readonly warnings: readonly string[];
}

export interface VaeEvaluationResult extends EvaluationBase {
  readonly kind: 'vae';
  /** Mean negative ELBO per test image, nats: `bce + kl`. */
  readonly negElbo: number;
  /** Mean summed Bernoulli cross-entropy per test image (reconstruction), nats. */
  readonly bce: number;
  /** Mean KL(q(z|x) ‖ N(0, I)) per test image, nats. */
  readonly kl: number;
}

export interface GanEvaluationResult extends EvaluationBase {
  readonly kind: 'gan';
  /** The generator scored: the moving average of its weights (`--ema`), or its trained weights. */
  readonly weights: 'ema' | 'trained';
  /** Generated images scored. */
  readonly samples: number;
  /** exp E[KL(p(y|x) ‖ p(y))] of the generated images: 1 to the number of classes, higher is better. */
  readonly inceptionScore: number;
  /** Fréchet distance of the generated images' classifier features to the test set's: lower is better. */
  readonly fid: number;
  /** The share of generated images the classifier puts in each class (index = label): all ten digits appear when none is near 0. */
  readonly classShares: readonly number[];
  /** The real data's own scores, the ceiling. */
  readonly real: {
    /** Inception Score of the test images. */
    readonly inceptionScore: number;
    /** FID of the first `trainImages` training images against the test images. */
    readonly fid: number;
    readonly trainImages: number;
  };
  readonly classifier: {
    /** Accuracy on the full test set, in [0, 1]. */
    readonly testAccuracy: number;
    readonly epochs: number;
    readonly trainSeconds: number;
    /** `cache` when it was loaded, `trained` when this evaluation trained it, `given` when injected. */
    readonly source: 'cache' | 'trained' | 'given';
    readonly path?: string;
  };
}

export type Evaluation = VaeEvaluationResult | GanEvaluationResult;

/**
 * Scores the run's newest good checkpoint on its dataset's test split.
 * Deterministic for a seed (the VAE's posterior draws, the GAN's noise).
 *
 * @example
 * const result = await evaluate({ run: 'runs/vae-mlp-20250101-120000' });
 * if (result.kind === 'vae') console.log(result.negElbo);
 */
export async function evaluate(input: EvaluateInput, hooks: EvaluateHooks = {}): Promise<Evaluation> {
  const started = performance.now();
  const config: EvalConfig = parseConfig(input, 'api', 'eval');
  const samples = hooks.samples ?? DEFAULT_EVAL_SAMPLES;
  if (!Number.isInteger(samples) || samples < 2) throw errors.invalidValue('samples', 'an integer of at least 2', samples);
  if (hooks.limit !== undefined && !(Number.isInteger(hooks.limit) && hooks.limit >= 2)) {
    throw errors.invalidValue('limit', 'an integer of at least 2', hooks.limit);
  }
  const backend = await useBackend(config.backend);
  const trained = await openTrainedRun(config.run, {
    networks: (spec) => (spec.kind === 'vae' ? spec.networks : [imageNetwork(spec)]),
    onWarning: hooks.onWarning,
    averaged: config.weights === 'ema',
  });
  try {
    const dataset = loadDataset(trained.config.dataset);
    checkImageShape(trained.spec, dataset.test, dataset.name);
    const test = firstImages(dataset.test, hooks.limit);
    if (test.count === 0) throw errors.badFile(trained.config.dataset, 'has no test images to evaluate on');
    const base = {
      run: config.run,
      model: trained.spec.name,
      step: trained.step,
      checkpoint: trained.checkpoint,
      dataset: dataset.name,
      seed: config.seed,
      backend: backend.name,
      testImages: test.count,
      warnings: trained.warnings,
    };
    const seconds = () => (performance.now() - started) / 1000;
    if (trained.spec.kind === 'vae') {
      const r = await evaluateVae(
        { encoder: trained.part('encoder'), decoder: trained.part('decoder') },
        batchesOf(test, 500),
        new Rng(config.seed),
      );
      return { kind: 'vae', ...base, negElbo: r.loss, bce: r.bce, kl: r.kl, seconds: seconds() };
    }
    const gan = await scoreGan(trained, dataset, test, samples, config.seed, hooks);
    const weights = trained.averaged.has('generator') ? 'ema' : 'trained';
    return { kind: 'gan', ...base, weights, ...gan, seconds: seconds() };
  } finally {
    trained.dispose();
  }
}

type GanScores = Pick<GanEvaluationResult, 'samples' | 'inceptionScore' | 'fid' | 'classShares' | 'real' | 'classifier'>;

async function scoreGan(
  trained: TrainedRun,
  dataset: Dataset,
  test: Split,
  samples: number,
  seed: number,
  hooks: EvaluateHooks,
): Promise<GanScores> {
  const classifier =
    hooks.classifier ??
    (await getClassifier(dataset, {
      ...hooks.classifierOptions,
      onTraining: hooks.onClassifierTraining,
      onProgress: hooks.onClassifierProgress,
      onWarning: hooks.onWarning,
    }));
  try {
    const testPredictions = await predictSplit(classifier, test, test.count);
    const testStats = featureStats(testPredictions);
    const scores = await scoreGenerator(classifier, trained.spec as GanSpec, trained.part('generator'), samples, seed, testStats);
    const trainImages = Math.min(samples, dataset.train.count);
    const real = await predictSplit(classifier, dataset.train, trainImages);
    return {
      samples,
      ...scores,
      real: { inceptionScore: inceptionScore(testPredictions), fid: fid(featureStats(real), testStats), trainImages },
      classifier: {
        testAccuracy: classifier.meta.testAccuracy,
        epochs: classifier.meta.epochs,
        trainSeconds: classifier.meta.trainSeconds,
        source: hooks.classifier ? 'given' : classifier.source,
        ...(classifier.path === undefined ? {} : { path: classifier.path }),
      },
    };
  } finally {
    if (!hooks.classifier) classifier.dispose();
  }
}

/**
 * The inception score, FID against `testStats` and class shares of `samples`
 * images from `generator`, its noise drawn from `seed` (as `paragen eval`)
 * and multiplied by `noiseScale` (1: as drawn; below 1: the truncation trick).
 */
export async function scoreGenerator(
  classifier: Classifier,
  spec: GanSpec,
  generator: NetworkPart,
  samples: number,
  seed: number,
  testStats: FeatureStats,
  noiseScale = 1,
): Promise<Pick<GanEvaluationResult, 'inceptionScore' | 'fid' | 'classShares'>> {
  const images = await sampleImages(spec, generator, samples, new Rng(seed), undefined, noiseScale);
  return scoreImages(classifier, images, spec.imageShape, testStats);
}

/** The inception score, FID against `testStats` and class shares of `images` ([n, ...shape] flattened, in [0, 1]). */
export async function scoreImages(
  classifier: Classifier,
  images: Float32Array,
  shape: readonly [number, number, number],
  testStats: FeatureStats,
): Promise<Pick<GanEvaluationResult, 'inceptionScore' | 'fid' | 'classShares'>> {
  const size = shape[0] * shape[1] * shape[2];
  const generated = await predict(classifier, images.length / size, shape, (start, n) => images.subarray(start * size, (start + n) * size));
  return { inceptionScore: inceptionScore(generated), fid: fid(featureStats(generated), testStats), classShares: classShares(generated) };
}

/** The first `limit` images of `split` (all of them without a limit), as a split. */
function firstImages(split: Split, limit: number | undefined): Split {
  if (limit === undefined || limit >= split.count) return split;
  const size = split.height * split.width * split.channels;
  return {
    ...split,
    images: split.images.subarray(0, limit * size),
    ...(split.labels ? { labels: split.labels.subarray(0, limit) } : {}),
    count: limit,
  };
}

/** The split's images in [0, 1], `batchSize` at a time, in order. */
function* batchesOf(split: Split, batchSize: number): Generator<Float32Array> {
  for (let start = 0; start < split.count; start += batchSize) {
    const n = Math.min(batchSize, split.count - start);
    yield gatherBatch(split, Uint32Array.from({ length: n }, (_, i) => start + i), 'unit');
  }
}
