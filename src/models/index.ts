/**
 * Networks, losses, network parts and training steps: everything `actors/`,
 * `src/parallel/` and `src/run/` need from `src/models/`.
 */
export { Adam } from './adam.js';
export type { AdamConfig, AdamState } from './adam.js';
export { loadModel, saveModel, WEIGHTS_FILE } from './artifacts.js';
export type { LoadableFiles, ModelFiles } from './artifacts.js';
export { dcganDiscriminator, dcganGenerator } from './dcgan.js';
export type { DcganWidths } from './dcgan.js';
export { computeFans, drawInitial, initializeWeights } from './init.js';
export {
  bceWithLogits,
  bernoulliNll,
  discriminatorLoss,
  gaussianKl,
  generatorLoss,
  hingeDiscriminatorLoss,
  hingeFakeLoss,
  hingeGeneratorLoss,
  hingeRealLoss,
  negElbo,
  reparameterize,
  splitLatent,
} from './losses.js';
export type { GanLoss, NegElbo } from './losses.js';
export { penaltyGradients, r1Gradients, r1Weight } from './r1.js';
export type { R1Penalty } from './r1.js';
export { NetworkPart, loadPart } from './part.js';
export type { ForwardOptions, GradOptions, LossGradResult, VjpResult, Wrt } from './part.js';
export { TapedPass } from './tape.js';
export { MODEL_NAMES, adamConfig, createPart, createParts, modelSpec, runOptimizer } from './registry.js';
export type {
  GanModelName,
  GanNetwork,
  GanSpec,
  ModelName,
  ModelSpec,
  NetworkName,
  TrainingDefaults,
  VaeModelName,
  VaeNetwork,
  VaeSpec,
} from './registry.js';
export { STANDING_BATCHES, averagedImageNetwork, averagedName, sampleImages } from './sample.js';
export {
  decoderBackward,
  discriminatorBackward,
  evaluateVae,
  ganGradients,
  latentBackward,
  latentSample,
  planGanStep,
  planVaeStep,
  vaeGradients,
} from './steps.js';
export type {
  DecoderBackward,
  DiscriminatorBackward,
  GanGradients,
  GanLosses,
  GanParts,
  GanStepPlan,
  VaeEvaluation,
  VaeGradients,
  VaeLosses,
  VaeParts,
  VaeStepPlan,
} from './steps.js';
