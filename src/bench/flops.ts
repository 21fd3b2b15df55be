/**
 * FLOPs of one training step per sample, counted analytically from the
 * networks' layers, for each row's FLOP utilisation.
 *
 * The count. Only the products are counted — dense, conv2d, conv2dTranspose:
 * a multiply-add is 2 FLOPs. Batch norm, activations, dropout, losses and the
 * optimizer are elementwise: under 1% of the products for these models, and
 * left out. Per layer with forward cost F:
 *
 * - its weight gradient costs F (dW = xᵀ·dy, or the conv filter gradient);
 * - its input gradient costs F (dx = dy·Wᵀ, or the transposed convolution),
 *   and is skipped for a network's first layer unless something upstream
 *   needs it (the discriminator's for the generator, the decoder's for the
 *   encoder).
 *
 * So a pass differentiated for its weights costs about 3× its forward pass.
 * A step on one tape (what the model needs, `tape`):
 *
 * - GAN: G forward; D forward on real and on fake; D's weight gradients on
 *   both; D's input gradient on fake (for G); G's weight gradients.
 * - VAE: encoder and decoder forward; both weight gradients; the decoder's
 *   input gradient (for the encoder).
 *
 * What runs (`paragen`, `baseline`) may add recomputation. paragen runs one
 * tape's worth (src/models/steps.ts: G and the encoder keep their forward
 * tape until the upstream gradient arrives, and D's fake pass serves both of
 * its gradients). The plain-tfjs GAN baseline calls `tf.variableGrads` once
 * per network and so runs G and D-on-fakes twice; its VAE is one tape.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NetworkName } from '../models/index.js';

/** One network's forward cost, per sample, in multiply-adds. */
export interface NetworkCost {
  readonly network: NetworkName;
  /** Forward multiply-adds per sample. */
  readonly forward: number;
  /** Of which the first product layer's (whose input gradient is often not needed). */
  readonly first: number;
  /** Per product layer, for the report. */
  readonly layers: readonly { readonly name: string; readonly kind: string; readonly macs: number }[];
}

/** A model's FLOPs per training sample. */
export interface StepFlops {
  /** One tape, no recomputation: what the model needs. */
  readonly tape: number;
  /** What paragen runs (one tape: it recomputes nothing). */
  readonly paragen: number;
  /** What the plain-tfjs baseline runs. */
  readonly baseline: number;
  readonly networks: readonly NetworkCost[];
}

/** Shapes as tfjs reports them: `[null, h, w, c]`, or a list of those. */
function shapeOf(shape: tf.Shape | tf.Shape[]): number[] {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[];
  return s.slice(1).map((d) => d ?? 1);
}

function inputShape(layer: tf.layers.Layer): tf.Shape | tf.Shape[] {
  const input = layer.input;
  return Array.isArray(input) ? input.map((t) => t.shape) : input.shape;
}

/** Forward multiply-adds per sample of `model`'s product layers. */
export function networkCost(network: NetworkName, model: tf.LayersModel): NetworkCost {
  const layers: { name: string; kind: string; macs: number }[] = [];
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    const input = shapeOf(inputShape(layer));
    const output = shapeOf(layer.outputShape);
    const config = layer.getConfig() as { kernelSize?: number | number[] };
    const k = Array.isArray(config.kernelSize) ? config.kernelSize : [config.kernelSize ?? 1, config.kernelSize ?? 1];
    let macs = 0;
    if (kind === 'Dense') {
      // Dense applies to the last axis; any leading axes multiply the work.
      const rows = input.slice(0, -1).reduce((a, b) => a * b, 1);
      macs = rows * input.at(-1)! * output.at(-1)!;
    } else if (kind === 'Conv2D') {
      macs = output[0]! * output[1]! * output[2]! * k[0]! * k[1]! * input[2]!;
    } else if (kind === 'Conv2DTranspose') {
      // Every input pixel scatters a k×k×filters patch.
      macs = input[0]! * input[1]! * input[2]! * k[0]! * k[1]! * output[2]!;
    } else {
      continue;
    }
    layers.push({ name: layer.name, kind, macs });
  }
  const forward = layers.reduce((a, l) => a + l.macs, 0);
  return { network, forward, first: layers[0]?.macs ?? 0, layers };
}

/**
 * FLOPs per sample of a training step of `spec`, from its networks (built
 * with any seed: only their shapes are read).
 *
 * @example
 * const flops = stepFlops(spec, spec.build(0)); // vae-mlp: tape ≈ 3.9 MFLOP per sample
 */
export function stepFlops(spec: ModelSpec, models: Readonly<Partial<Record<NetworkName, tf.LayersModel>>>): StepFlops {
  const cost = (n: NetworkName) => networkCost(n, models[n]!);
  // Forward F, weight gradient W = F, input gradient I = F (or F − first when the network's own input needs none).
  const weightsPass = (c: NetworkCost) => c.forward + c.forward + (c.forward - c.first);
  if (spec.kind === 'gan') {
    const g = cost('generator');
    const d = cost('discriminator');
    const tape = weightsPass(g) + 2 * weightsPass(d) + d.forward;
    const recompute = g.forward + d.forward;
    return { tape: 2 * tape, paragen: 2 * tape, baseline: 2 * (tape + recompute), networks: [g, d] };
  }
  const e = cost('encoder');
  const dec = cost('decoder');
  const tape = weightsPass(e) + 3 * dec.forward;
  return { tape: 2 * tape, paragen: 2 * tape, baseline: 2 * tape, networks: [e, dec] };
}
