/**
 * The discriminator: images → logits. In a GAN step it takes the real batch
 * and the generator's fake batch and computes, with the plan's pass seeds,
 * the discriminator loss and its weight gradients (held until apply), the
 * generator loss, and that loss's gradient with respect to the fake batch —
 * the generator's upstream gradient (`discriminatorBackward` in steps.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { transfer } from '../src/actor/wire.js';
import { discriminatorBackward } from '../src/models/index.js';
import {
  ensureBackend,
  exportTensor,
  NetworkActor,
  networkRequests,
  type GradientReport,
  type NetworkEvent,
  type NetworkInit,
  type NetworkProtocol,
  type StepRequest,
} from './network.js';

export interface DiscriminatorBackwardRequest extends StepRequest {
  /** The real batch, [batch, H, W, C] flattened, in the model's pixel range. */
  readonly real: Float32Array;
  /** The generator's output for this step, same layout. */
  readonly fake: Float32Array;
  /** Pass seeds of the plan. */
  readonly seeds: { readonly real: number; readonly fake: number };
}

export interface DiscriminatorReply extends GradientReport {
  /** BCE(real, 1) + BCE(fake, 0). */
  readonly dLoss: number;
  /** BCE(fake, 1): the generator's loss. */
  readonly gLoss: number;
  /** ∂gLoss/∂fake, the generator's upstream gradient, laid out as `fake`. */
  readonly fakeGrad: Float32Array;
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
    const imageSize = this.spec.imageShape.reduce((a: number, b: number) => a * b, 1);
    const shape = [request.real.length / imageSize, ...this.spec.imageShape];
    // Tensors out of tidy, values read outside it: tidy would walk a returned typed array element by element.
    const out = tf.tidy(() => {
      const d = discriminatorBackward(this.part, tf.tensor(request.real, shape), tf.tensor(request.fake, shape), request.seeds);
      return { losses: tf.stack([d.dLoss, d.gLoss]), fakeGrad: d.fakeGrad, grads: d.grads };
    });
    try {
      const [dLoss, gLoss] = out.losses.dataSync();
      const fakeGrad = exportTensor(out.fakeGrad);
      const gradSum = this.hold(request.step, out.grads);
      return transfer({ dLoss: dLoss!, gLoss: gLoss!, fakeGrad, gradSum }, [fakeGrad]);
    } finally {
      tf.dispose([out.losses, out.fakeGrad]);
    }
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
