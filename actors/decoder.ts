/**
 * The decoder: z → image logits. In a VAE step it takes z from the encoder
 * and the batch, and computes the Bernoulli NLL per image, its weight
 * gradients (held until apply) and ∂bce/∂z for the encoder
 * (`decoderBackward` in steps.ts). It also samples images from the prior.
 *
 * In a pipeline it is the last stage, loss included: forward and backward of
 * microbatch c in one request while the encoder runs forward on c+1.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { decoderBackward, type VaeSpec } from '../src/models/index.js';
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
  type SampleRequest,
} from './network.js';

export interface DecoderBackwardRequest extends ChunkRequest {
  /** The encoder's z, [batch, latentDim] (absent: it comes over the stage pair). */
  readonly z?: Float32Array;
  /** The batch the loss compares against, [batch, H, W, C] flattened, in [0, 1]. */
  readonly x: Float32Array;
  /** The decoder pass's seed (the plan's, or the microbatch's: chunks.ts). */
  readonly seed: number;
  /** The microbatch's share of the global batch, n/B (default 1): the factor on the loss. */
  readonly weight?: number;
}

export interface DecoderReply extends GradientReport {
  /** Bernoulli NLL per image, times the weight. */
  readonly bce: number;
  /** ∂(weight·bce)/∂z, [batch, latentDim] (absent: sent over the stage pair). */
  readonly zGrad?: Float32Array;
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
    const batch = request.x.length / imageShape.reduce((a: number, b: number) => a * b, 1);
    const chunk = request.chunk ?? 0;
    const zRows = await this.fromOtherStage(chunk, request.z, 'z', batch * latentDim);
    const started = performance.now();
    const out = tf.tidy(() => {
      const z = tf.tensor2d(zRows, [batch, latentDim]);
      const d = decoderBackward(this.part, z, tf.tensor(request.x, [batch, ...imageShape]), request.seed, request.weight);
      return { bce: d.bce, zGrad: d.zGrad, grads: d.grads };
    });
    let bce: number;
    let zGrad: Float32Array;
    try {
      bce = (await out.bce.data())[0]!;
      zGrad = await exportTensor(out.zGrad);
    } catch (error) {
      tf.dispose(out.grads);
      throw error;
    } finally {
      tf.dispose([out.bce, out.zGrad]);
    }
    const back = this.toOtherStage(chunk, zGrad);
    const collected = await this.collect(request, out.grads);
    return back ? this.report(started, collected, { bce, zGrad: back }, [back]) : this.report(started, collected, { bce });
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
