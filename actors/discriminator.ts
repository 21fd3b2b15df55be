/**
 * The discriminator: images → logits. In a GAN step it takes the real batch
 * and the generator's fake batch and computes, with the plan's pass seeds,
 * the discriminator loss and its weight gradients (held until apply), the
 * generator loss, and that loss's gradient with respect to the fake batch —
 * the generator's upstream gradient (`discriminatorBackward` in steps.ts).
 * On the steps the spec's R1 penalty falls on (r1.ts), D's gradients include it.
 *
 * In a pipeline it is the last stage, loss included: forward and backward of
 * microbatch c in one request, on the real rows and the fake ones of c, while
 * the generator runs forward on c+1. Its weights do not move until the
 * batch's last microbatch is done: every microbatch — and so the generator's
 * gradient through it — sees the pre-update discriminator.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { discriminatorBackward, r1Weight } from '../src/models/index.js';
import {
  ensureBackend,
  exportTensor,
  NetworkActor,
  networkRequests,
  type ChunkRequest,
  type GradientReport,
  type NetworkEvent,
  type NetworkInit,
  type NetworkProtocol,
} from './network.js';

export interface DiscriminatorBackwardRequest extends ChunkRequest {
  /** The real batch, [batch, H, W, C] flattened, in the model's pixel range. */
  readonly real: Float32Array;
  /** The generator's output for this step, same layout (absent: it comes over the stage pair). */
  readonly fake?: Float32Array;
  /** Pass seeds of the plan (or of the microbatch: chunks.ts). */
  readonly seeds: { readonly real: number; readonly fake: number };
  /** The microbatch's share of the global batch, n/B (default 1): the factor on both losses. */
  readonly weight?: number;
}

export interface DiscriminatorReply extends GradientReport {
  /** BCE(real, 1) + BCE(fake, 0), times the weight. */
  readonly dLoss: number;
  /** BCE(fake, 1), the generator's loss, times the weight. */
  readonly gLoss: number;
  /** ∂gLoss/∂fake, the generator's upstream gradient, laid out as `fake` (absent: sent over the stage pair). */
  readonly fakeGrad?: Float32Array;
}

export interface DiscriminatorProtocol extends NetworkProtocol {
  backward(request: DiscriminatorBackwardRequest): Promise<DiscriminatorReply>;
}

class Discriminator extends NetworkActor implements DiscriminatorProtocol {
  constructor(init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    super('discriminator', init, ctx);
  }

  async backward(request: DiscriminatorBackwardRequest): Promise<DiscriminatorReply> {
    this.ctx.reached(request.step);
    const chunk = request.chunk ?? 0;
    const fakeRows = await this.fromOtherStage(chunk, request.fake, 'fake batch', request.real.length);
    const started = performance.now();
    const imageSize = this.spec.imageShape.reduce((a: number, b: number) => a * b, 1);
    const shape = [request.real.length / imageSize, ...this.spec.imageShape];
    const realLabel = this.spec.kind === 'gan' ? this.spec.realLabel : 1;
    // Requests count steps from 1; the penalty's schedule counts the steps done before this one.
    const r1 = this.spec.kind === 'gan' ? r1Weight(this.spec.r1, request.step - 1) : 0;
    // Tensors out of tidy, values read outside it: tidy would walk a returned typed array element by element.
    const out = tf.tidy(() => {
      const real = tf.tensor(request.real, shape);
      const d = discriminatorBackward(this.part, real, tf.tensor(fakeRows, shape), request.seeds, request.weight, realLabel, 'bce', r1);
      return { losses: tf.stack([d.dLoss, d.gLoss]), fakeGrad: d.fakeGrad, grads: d.grads };
    });
    let fakeGrad: Float32Array;
    let losses: Float32Array;
    try {
      losses = (await out.losses.data()) as Float32Array;
      fakeGrad = await exportTensor(out.fakeGrad);
    } catch (error) {
      tf.dispose(out.grads);
      throw error;
    } finally {
      tf.dispose([out.losses, out.fakeGrad]);
    }
    const back = this.toOtherStage(chunk, fakeGrad);
    const collected = await this.collect(request, out.grads);
    const fields = { dLoss: losses[0]!, gLoss: losses[1]! };
    return back ? this.report(started, collected, { ...fields, fakeGrad: back }, [back]) : this.report(started, collected, fields);
  }

  protected clearStep(): void {}
}

export const discriminator: ActorDefinition<NetworkInit, DiscriminatorProtocol, NetworkEvent> = {
  requests: { ...networkRequests, backward: true },
  async create(init, ctx) {
    await ensureBackend(init.backend);
    return new Discriminator(init, ctx);
  },
};
