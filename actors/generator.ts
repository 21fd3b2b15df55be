/**
 * The generator: noise → images. In a GAN step it runs forward on the plan's
 * noise (the fake batch goes to the discriminator), then, given the
 * discriminator's gradient of the generator loss with respect to that fake
 * batch, its vector–Jacobian product: its weight gradients, held until the
 * coordinator says apply or discard.
 *
 * In a pipeline it is stage 0: it runs forward on microbatch c+1 while the
 * discriminator works on c, and keeps each microbatch's noise until that
 * microbatch's backward, with the forward pass's tape (`forwardTaped`): the
 * backward pass does not run the generator forward again.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActorContext, ActorDefinition } from '../src/actor/protocol.js';
import { transfer } from '../src/actor/wire.js';
import type { GanSpec, TapedPass } from '../src/models/index.js';
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
  type Timed,
} from './network.js';
import { HeldPasses } from './passes.js';

export interface GeneratorForward extends ChunkRequest {
  /** [batch, noiseDim] standard normals, row-major (the plan's rows for this microbatch). */
  readonly noise: Float32Array;
  /** The generator pass's seed (the plan's, or the microbatch's: chunks.ts). */
  readonly seed: number;
}

export interface GeneratorBackward extends ChunkRequest {
  /** ∂gLoss/∂fake, [batch, H, W, C] flattened: the discriminator's reply (absent: it comes over the stage pair). */
  readonly upstream?: Float32Array;
}

/** The fake batch, unless it went to the discriminator over the stage pair. */
export interface GeneratorOutput extends Timed {
  readonly fake?: Float32Array;
}

export interface GeneratorProtocol extends NetworkProtocol {
  /** G(noise) in training mode, [batch, H, W, C] flattened. */
  forward(request: GeneratorForward): Promise<GeneratorOutput>;
  /** Weight gradients of Σ fake·upstream for this step's pass; held until apply. */
  backward(request: GeneratorBackward): Promise<GradientReport>;
  /** `n` images in [0, 1] from noise drawn with `seed`. */
  sample(request: SampleRequest): Promise<{ readonly images: Float32Array }>;
}

interface Pass {
  step: number;
  noise: tf.Tensor2D;
  taped: TapedPass;
}

class Generator extends NetworkActor implements GeneratorProtocol {
  /** The passes whose backward is still to come, by microbatch. */
  readonly #passes = new HeldPasses<Pass>('generator', disposePass);

  constructor(init: NetworkInit, ctx: ActorContext<NetworkEvent>) {
    super('generator', init, ctx);
  }

  async forward(request: GeneratorForward): Promise<GeneratorOutput> {
    const started = performance.now();
    const chunk = this.beginForward(request);
    const { noiseDim } = this.spec as GanSpec;
    const noise = tf.tensor2d(request.noise, [request.noise.length / noiseDim, noiseDim]);
    let taped: TapedPass;
    try {
      taped = this.part.forwardTaped(noise, { seed: request.seed });
    } catch (error) {
      noise.dispose();
      throw error;
    }
    this.#passes.hold(chunk, { step: request.step, noise, taped });
    const fake = this.toOtherStage(chunk, await exportTensor(taped.output));
    const busy = performance.now() - started;
    return fake ? transfer({ fake, busy }, [fake]) : { busy };
  }

  async backward(request: GeneratorBackward): Promise<GradientReport> {
    const chunk = request.chunk ?? 0;
    const given = await this.fromOtherStage(chunk, request.upstream, 'gradient of the fake batch', this.#passes.peek(chunk)?.taped.output.size);
    const started = performance.now();
    const grads = this.#passes.consume(chunk, request.step, (pass) =>
      tf.tidy(() => {
        const upstream = tf.tensor(given, pass.taped.output.shape);
        return this.part.vjpTaped(pass.taped, pass.noise, upstream, 'weights').grads;
      }),
    );
    return this.report(started, await this.collect(request, grads), {});
  }

  async sample(request: SampleRequest): Promise<{ readonly images: Float32Array }> {
    return this.images(request);
  }

  protected clearStep(): void {
    this.#passes.clear();
  }
}

function disposePass(pass: Pass): void {
  pass.taped.dispose();
  pass.noise.dispose();
}

export const generator: ActorDefinition<NetworkInit, GeneratorProtocol, NetworkEvent> = {
  requests: { ...networkRequests, forward: true, backward: true, sample: true },
  async create(init, ctx) {
    await ensureBackend(init.backend);
    return new Generator(init, ctx);
  },
};
