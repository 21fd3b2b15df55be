/**
 * The decoder: z → image logits. In a VAE step it takes z from the encoder
 * and the batch, and computes the Bernoulli NLL per image, its weight
 * gradients (held until apply) and ∂bce/∂z for the encoder
 * (`decoderBackward` in steps.ts). It also samples images from the prior.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { transfer } from '../src/actor/wire.js';
import { decoderBackward, type VaeSpec } from '../src/models/index.js';
import {
  ensureBackend,
  exportTensor,
  NetworkActor,
  networkRequests,
  type GradientReport,
  type NetworkEvent,
  type NetworkInit,
  type NetworkProtocol,
  type SampleRequest,
  type StepRequest,
} from './network.js';

export interface DecoderBackwardRequest extends StepRequest {
  /** The encoder's z, [batch, latentDim]. */
  readonly z: Float32Array;
  /** The batch the loss compares against, [batch, H, W, C] flattened, in [0, 1]. */
  readonly x: Float32Array;
  /** The decoder pass's seed (the plan's). */
  readonly seed: number;
}

export interface DecoderReply extends GradientReport {
  /** Bernoulli NLL per image. */
  readonly bce: number;
  /** ∂bce/∂z, [batch, latentDim]. */
  readonly zGrad: Float32Array;
}

export interface DecoderProtocol extends NetworkProtocol {
  backward(request: DecoderBackwardRequest): Promise<DecoderReply>;
  /** `n` images in [0, 1] decoded from prior draws with `seed`. */
  sample(request: SampleRequest): Promise<{ readonly images: Float32Array }>;
}

class Decoder extends NetworkActor implements DecoderProtocol {
  constructor(init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    super('decoder', init, ctx);
  }

  async backward(request: DecoderBackwardRequest): Promise<DecoderReply> {
    this.ctx.reached(request.step);
    const { latentDim, imageShape } = this.spec as VaeSpec;
    const batch = request.z.length / latentDim;
    const out = tf.tidy(() => {
      const z = tf.tensor2d(request.z, [batch, latentDim]);
      const d = decoderBackward(this.part, z, tf.tensor(request.x, [batch, ...imageShape]), request.seed);
      return { bce: d.bce, zGrad: d.zGrad, grads: d.grads };
    });
    try {
      const bce = out.bce.dataSync()[0]!;
      const zGrad = exportTensor(out.zGrad);
      const gradSum = this.hold(request.step, out.grads);
      return transfer({ bce, zGrad, gradSum }, [zGrad]);
    } finally {
      tf.dispose([out.bce, out.zGrad]);
    }
  }

  async sample(request: SampleRequest): Promise<{ readonly images: Float32Array }> {
    return this.images(request);
  }

  protected clearStep(): void {}
}

export const decoder: ActorDefinition<NetworkInit, DecoderProtocol, NetworkEvent> = {
  requests: { ...networkRequests, backward: true, sample: true },
  async create(init, ctx) {
    await ensureBackend(init.backend);
    return new Decoder(init, ctx);
  },
};
