/**
 * The encoder: images → h = [mu | logvar], and z = mu + eps·exp(logvar/2)
 * with the plan's eps. In a VAE step it runs forward (z goes to the
 * decoder), then, given ∂bce/∂z from the decoder, goes back through the
 * reparameterisation plus the KL term's own gradient and through its
 * network: its weight gradients, held until apply, and the KL.
 *
 * In a pipeline it is stage 0: it runs forward on microbatch c+1 while the
 * decoder works on c, and keeps each microbatch's input, eps and output until
 * that microbatch's backward, with the forward pass's tape (`forwardTaped`):
 * the backward pass does not run the encoder forward again.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { transfer } from '../src/actor/wire.js';
import { latentBackward, latentSample, type TapedPass, type VaeSpec } from '../src/models/index.js';
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
  type Timed,
} from './network.js';
import { HeldPasses } from './passes.js';

export interface EncoderForward extends ChunkRequest {
  /** The batch, [batch, H, W, C] flattened, in [0, 1]. */
  readonly x: Float32Array;
  /** [batch, latentDim] standard normals (the plan's). */
  readonly eps: Float32Array;
  /** The encoder pass's seed (the plan's, or the microbatch's: chunks.ts). */
  readonly seed: number;
}

export interface EncoderBackward extends ChunkRequest {
  /** ∂(weight·bce)/∂z from the decoder, [batch, latentDim] (absent: it comes over the stage pair). */
  readonly zGrad?: Float32Array;
  /** The microbatch's share of the global batch, n/B (default 1): the factor on the KL term. */
  readonly weight?: number;
}

/** z, unless it went to the decoder over the stage pair. */
export interface EncoderOutput extends Timed {
  readonly z?: Float32Array;
}

export interface EncoderProtocol extends NetworkProtocol {
  /** z for this step's batch, [batch, latentDim]. */
  forward(request: EncoderForward): Promise<EncoderOutput>;
  /** The KL term (per image, times the weight) and the weight gradients of bce + KL; held until apply. */
  backward(request: EncoderBackward): Promise<GradientReport & { readonly kl: number }>;
}

interface Pass {
  step: number;
  x: tf.Tensor;
  eps: tf.Tensor2D;
  /** The forward pass; its output is h = [mu | logvar]. */
  taped: TapedPass;
}

class Encoder extends NetworkActor implements EncoderProtocol {
  /** The passes whose backward is still to come, by microbatch. */
  readonly #passes = new HeldPasses<Pass>('encoder', disposePass);

  constructor(init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    super('encoder', init, ctx);
  }

  async forward(request: EncoderForward): Promise<EncoderOutput> {
    const started = performance.now();
    const chunk = this.beginForward(request);
    const { latentDim, imageShape } = this.spec as VaeSpec;
    const batch = request.eps.length / latentDim;
    const x = tf.tensor(request.x, [batch, ...imageShape]);
    const eps = tf.tensor2d(request.eps, [batch, latentDim]);
    let taped: TapedPass;
    try {
      taped = this.part.forwardTaped(x, { seed: request.seed });
    } catch (error) {
      tf.dispose([x, eps]);
      throw error;
    }
    this.#passes.hold(chunk, { step: request.step, x, eps, taped });
    const out = latentSample(taped.output, eps);
    try {
      const z = this.toOtherStage(chunk, await exportTensor(out));
      const busy = performance.now() - started;
      return z ? transfer({ z, busy }, [z]) : { busy };
    } finally {
      out.dispose();
    }
  }

  async backward(request: EncoderBackward): Promise<GradientReport & { readonly kl: number }> {
    const chunk = request.chunk ?? 0;
    const given = await this.fromOtherStage(chunk, request.zGrad, 'gradient of z', this.#passes.peek(chunk)?.eps.size);
    const started = performance.now();
    const out = this.#passes.consume(chunk, request.step, (pass) =>
      tf.tidy(() => {
        const zGrad = tf.tensor(given, pass.eps.shape);
        const { hGrad, kl } = latentBackward(pass.taped.output, pass.eps, zGrad, request.weight);
        return { kl, grads: this.part.vjpTaped(pass.taped, pass.x, hGrad, 'weights').grads };
      }),
    );
    const { grads } = out;
    let kl: number;
    try {
      kl = (await out.kl.data())[0]!;
    } catch (error) {
      tf.dispose(grads);
      throw error;
    } finally {
      out.kl.dispose();
    }
    return this.report(started, await this.collect(request, grads), { kl });
  }

  protected clearStep(): void {
    this.#passes.clear();
  }
}

function disposePass(pass: Pass): void {
  pass.taped.dispose();
  tf.dispose([pass.x, pass.eps]);
}

export const encoder: ActorDefinition<NetworkInit, EncoderProtocol, NetworkEvent> = {
  requests: { ...networkRequests, forward: true, backward: true },
  async create(init, ctx) {
    await ensureBackend(init.backend);
    return new Encoder(init, ctx);
  },
};
