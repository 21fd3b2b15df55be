/**
 * The encoder: images → h = [mu | logvar], and z = mu + eps·exp(logvar/2)
 * with the plan's eps. In a VAE step it runs forward (z goes to the
 * decoder), then, given ∂bce/∂z from the decoder, goes back through the
 * reparameterisation plus the KL term's own gradient and through its
 * network: its weight gradients, held until apply, and the KL.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { transfer } from '../src/actor/wire.js';
import { latentBackward, latentSample, type VaeSpec } from '../src/models/index.js';
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

export interface EncoderForward extends StepRequest {
  /** The batch, [batch, H, W, C] flattened, in [0, 1]. */
  readonly x: Float32Array;
  /** [batch, latentDim] standard normals (the plan's). */
  readonly eps: Float32Array;
  /** The encoder pass's seed (the plan's). */
  readonly seed: number;
}

export interface EncoderBackward extends StepRequest {
  /** ∂bce/∂z from the decoder, [batch, latentDim]. */
  readonly zGrad: Float32Array;
}

export interface EncoderProtocol extends NetworkProtocol {
  /** z for this step's batch, [batch, latentDim]. */
  forward(request: EncoderForward): Promise<{ readonly z: Float32Array }>;
  /** The KL term (per image) and the weight gradients of bce + KL; held until apply. */
  backward(request: EncoderBackward): Promise<GradientReport & { readonly kl: number }>;
}

interface Pass {
  step: number;
  seed: number;
  x: tf.Tensor;
  eps: tf.Tensor2D;
  h: tf.Tensor;
}

class Encoder extends NetworkActor implements EncoderProtocol {
  #pass: Pass | undefined;

  constructor(init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    super('encoder', init, ctx);
  }

  async forward(request: EncoderForward): Promise<{ readonly z: Float32Array }> {
    this.ctx.reached(request.step);
    this.clearStep();
    const { latentDim, imageShape } = this.spec as VaeSpec;
    const batch = request.eps.length / latentDim;
    const x = tf.tensor(request.x, [batch, ...imageShape]);
    const eps = tf.tensor2d(request.eps, [batch, latentDim]);
    const h = this.part.forward(x, { training: true, seed: request.seed });
    this.#pass = { step: request.step, seed: request.seed, x, eps, h };
    const out = latentSample(h, eps);
    try {
      const z = exportTensor(out);
      return transfer({ z }, [z]);
    } finally {
      out.dispose();
    }
  }

  async backward(request: EncoderBackward): Promise<GradientReport & { readonly kl: number }> {
    const pass = this.expect(this.#pass, request.step, 'backward');
    const out = tf.tidy(() => {
      const { hGrad, kl } = latentBackward(pass.h, pass.eps, tf.tensor(request.zGrad, pass.eps.shape));
      return { kl, grads: this.part.vjp(pass.x, hGrad, { seed: pass.seed, wrt: 'weights' }).grads };
    });
    try {
      const kl = out.kl.dataSync()[0]!;
      return { kl, gradSum: this.hold(request.step, out.grads) };
    } finally {
      out.kl.dispose();
    }
  }

  protected clearStep(): void {
    if (this.#pass) tf.dispose([this.#pass.x, this.#pass.eps, this.#pass.h]);
    this.#pass = undefined;
  }
}

export const encoder: ActorDefinition<NetworkInit, EncoderProtocol, NetworkEvent> = {
  requests: { ...networkRequests, forward: true, backward: true },
  async create(init, ctx) {
    await ensureBackend(init.backend);
    return new Encoder(init, ctx);
  },
};
