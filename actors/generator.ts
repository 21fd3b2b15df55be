/**
 * The generator: noise → images. In a GAN step it runs forward on the plan's
 * noise (the fake batch goes to the discriminator), then, given the
 * discriminator's gradient of the generator loss with respect to that fake
 * batch, its vector–Jacobian product: its weight gradients, held until the
 * coordinator says apply or discard.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { transfer } from '../src/actor/wire.js';
import type { GanSpec } from '../src/models/index.js';
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

export interface GeneratorForward extends StepRequest {
  /** [batch, noiseDim] standard normals, row-major (the plan's). */
  readonly noise: Float32Array;
  /** The generator pass's seed (the plan's). */
  readonly seed: number;
}

export interface GeneratorBackward extends StepRequest {
  /** ∂gLoss/∂fake, [batch, H, W, C] flattened: the discriminator's reply. */
  readonly upstream: Float32Array;
}

export interface GeneratorProtocol extends NetworkProtocol {
  /** G(noise) in training mode, [batch, H, W, C] flattened. */
  forward(request: GeneratorForward): Promise<{ readonly fake: Float32Array }>;
  /** Weight gradients of Σ fake·upstream for this step's pass; held until apply. */
  backward(request: GeneratorBackward): Promise<GradientReport>;
  /** `n` images in [0, 1] from noise drawn with `seed`. */
  sample(request: SampleRequest): Promise<{ readonly images: Float32Array }>;
}

class Generator extends NetworkActor implements GeneratorProtocol {
  #pass: { step: number; noise: tf.Tensor2D; seed: number } | undefined;

  constructor(init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    super('generator', init, ctx);
  }

  async forward(request: GeneratorForward): Promise<{ readonly fake: Float32Array }> {
    this.ctx.reached(request.step);
    this.clearStep();
    const { noiseDim } = this.spec as GanSpec;
    const noise = tf.tensor2d(request.noise, [request.noise.length / noiseDim, noiseDim]);
    this.#pass = { step: request.step, noise, seed: request.seed };
    const out = this.part.forward(noise, { training: true, seed: request.seed });
    try {
      const fake = exportTensor(out);
      return transfer({ fake }, [fake]);
    } finally {
      out.dispose();
    }
  }

  async backward(request: GeneratorBackward): Promise<GradientReport> {
    const pass = this.expect(this.#pass, request.step, 'backward');
    const grads = tf.tidy(() => {
      const shape = [pass.noise.shape[0], ...(this.part.model.outputs[0]!.shape.slice(1) as number[])];
      const upstream = tf.tensor(request.upstream, shape);
      return this.part.vjp(pass.noise, upstream, { seed: pass.seed, wrt: 'weights' }).grads;
    });
    return { gradSum: this.hold(request.step, grads) };
  }

  async sample(request: SampleRequest): Promise<{ readonly images: Float32Array }> {
    return this.images(request);
  }

  protected clearStep(): void {
    this.#pass?.noise.dispose();
    this.#pass = undefined;
  }
}

export const generator: ActorDefinition<NetworkInit, GeneratorProtocol, NetworkEvent> = {
  requests: { ...networkRequests, forward: true, backward: true, sample: true },
  async create(init, ctx) {
    await ensureBackend(init.backend);
    return new Generator(init, ctx);
  },
};
