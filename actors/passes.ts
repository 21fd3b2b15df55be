/**
 * The forward passes an actor holds until their backward requests arrive,
 * by microbatch (chunk) of the step in progress. Not an actor: a part of
 * the generator and the encoder, which answer forward, then backward.
 */
import { errors } from '../src/errors.js';

export class HeldPasses<P extends { readonly step: number }> {
  readonly #network: string;
  readonly #dispose: (pass: P) => void;
  readonly #byChunk = new Map<number, P>();

  /** `dispose` frees a pass's tensors when it is dropped or taken for good. */
  constructor(network: string, dispose: (pass: P) => void) {
    this.#network = network;
    this.#dispose = dispose;
  }

  hold(chunk: number, pass: P): void {
    const previous = this.#byChunk.get(chunk);
    if (previous) this.#dispose(previous);
    this.#byChunk.set(chunk, pass);
  }

  /** The pass held for `chunk`, if any, left in place. */
  peek(chunk: number): P | undefined {
    return this.#byChunk.get(chunk);
  }

  /**
   * Runs `use` on the pass of `chunk` of `step`, then frees it (whether `use`
   * returns or throws).
   */
  consume<T>(chunk: number, step: number, use: (pass: P) => T): T {
    const pass = this.#byChunk.get(chunk);
    if (!pass || pass.step !== step) {
      throw errors.internal(`${this.#network}: backward of chunk ${chunk} of step ${step} without its forward pass`);
    }
    this.#byChunk.delete(chunk);
    try {
      return use(pass);
    } finally {
      this.#dispose(pass);
    }
  }

  /** Frees every pass held (a new step, a discard, a restore). */
  clear(): void {
    for (const pass of this.#byChunk.values()) this.#dispose(pass);
    this.#byChunk.clear();
  }
}
