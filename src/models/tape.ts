/**
 * A forward pass whose gradient tape is kept, so that backward passes can run
 * later — in another request, once the upstream gradient has arrived from
 * another worker — without running the forward pass again.
 *
 * TensorFlow.js has no public API for this: `tf.engine().gradients(f, xs, dy)`
 * records `f` on a tape and backpropagates at once. Here its two halves are
 * split: `record` runs `f` under a tape exactly as `gradients` does and takes
 * the tape; `backward` walks it as `gradients` does. The walk
 * (`filterTape`, `backpropagate`) follows tfjs-core's `src/tape.ts`
 * (`getFilteredNodesXToY`, `backpropagateGradients`, Apache-2.0), which the
 * package does not export. It relies on the engine's tape fields, stable in
 * tfjs 4.x — paragen pins @tensorflow/tfjs 4.22.0 — and test/models/tape.test.ts
 * checks it against `tf.engine().gradients`.
 *
 * The tape holds the tensors its kernels saved for their gradients (kept, as
 * `gradients` keeps them) until `dispose`.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';

type NamedGradients = Record<string, () => tf.Tensor>;

/** tfjs-core's TapeNode. */
interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: Record<string, tf.Tensor>;
  gradient?: (dys: tf.Tensor[]) => NamedGradients;
  saved?: tf.Tensor[];
}

/** The parts of tfjs-core's Engine that `gradients` uses. */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

function engine(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

export class TapedPass {
  /** `f`'s result (owned by the pass: disposed with it). */
  readonly output: tf.Tensor;
  #tape: TapeNode[] | undefined;

  private constructor(output: tf.Tensor, tape: TapeNode[]) {
    this.output = output;
    this.#tape = tape;
  }

  /** Runs `f` (which builds its result from tfjs ops) on a tape, and keeps the tape. */
  static record(f: () => tf.Tensor): TapedPass {
    const e = engine();
    if (e.state.gradientDepth !== 0) throw errors.internal('a taped pass cannot be recorded inside another gradient computation');
    const output = e.scopedRun(
      () => e.startTape(),
      () => e.endTape(),
      () => e.tidy('forward', f),
    );
    const tape = e.state.activeTape ?? [];
    // Ours now: the next recording starts a fresh tape, and nothing records while the depth is 0.
    e.state.activeTape = null;
    return new TapedPass(tf.keep(output), tape);
  }

  /**
   * The gradients of Σ output·dy with respect to each of `xs` (null where the
   * output does not depend on one), as `tf.engine().gradients(f, xs, dy)`
   * would compute them. May run several times, with different `dy` and `xs`.
   */
  backward(xs: readonly tf.Tensor[], dy: tf.Tensor): (tf.Tensor | null)[] {
    const tape = this.#tape;
    if (!tape) throw errors.internal('backward of a disposed taped pass');
    if (!tf.util.arraysEqual(dy.shape, this.output.shape)) {
      throw errors.invalidValue('upstream gradient', `of shape [${this.output.shape.join(', ')}]`, dy.shape);
    }
    const e = engine();
    const wanted = new Set(xs.map((x) => x.id));
    // Returned from the tidy (so tracked by the caller's scope, not kept forever), by id.
    const found = e.tidy('backward', () => {
      const accumulated: Record<number, tf.Tensor> = { [this.output.id]: dy };
      backpropagate(accumulated, filterTape(tape, xs, this.output), (f) => e.tidy('backprop', f));
      // The map holds dy itself when an x is the output: hand out a copy the caller may dispose.
      return Object.fromEntries(
        Object.entries(accumulated)
          .filter(([id]) => wanted.has(Number(id)))
          .map(([id, g]) => [id, g === dy ? tf.clone(g) : g]),
      );
    });
    return xs.map((x) => found[x.id] ?? null);
  }

  /** Frees the output and the tensors the tape saved. Idempotent. */
  dispose(): void {
    const tape = this.#tape;
    if (!tape) return;
    this.#tape = undefined;
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    this.output.dispose();
  }
}

/** The nodes on a path from one of `xs` to `y`, in tape order, inputs pruned to those that depend on `xs`. */
function filterTape(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      for (const output of node.outputs) fromX.add(output.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((output) => toY.has(output.id))) {
      for (const input of Object.values(node.inputs)) toY.add(input.id);
      nodesToY.add(node.id);
    }
  }
  return tape
    .filter((node) => nodesFromX.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({
      ...node,
      inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, input]) => fromX.has(input.id))),
    }));
}

/** Walks `tape` backwards from the gradients in `accumulated`, adding each input's gradient there. */
function backpropagate(
  accumulated: Record<number, tf.Tensor>,
  tape: readonly TapeNode[],
  tidy: (f: () => tf.Tensor) => tf.Tensor,
): void {
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    // An output outside the path to y gets no gradient: the node's gradient function makes it zeros.
    const dys = node.outputs.map((o) => accumulated[o.id] ?? (null as unknown as tf.Tensor));
    if (!node.gradient) throw errors.internal(`cannot compute gradient: no gradient function for ${node.kernelName}`);
    const inputGradients = node.gradient(dys);
    for (const [name, x] of Object.entries(node.inputs)) {
      const gradient = inputGradients[name];
      if (!gradient) throw errors.internal(`cannot backprop through input ${name} of ${node.kernelName}`);
      const dx = tidy(() => gradient());
      if (dx.dtype !== 'float32' || !tf.util.arraysEqual(dx.shape, x.shape)) {
        throw errors.internal(`gradient of input ${name} of ${node.kernelName} is ${dx.dtype} [${dx.shape.join(', ')}], expected float32 [${x.shape.join(', ')}]`);
      }
      const current = accumulated[x.id];
      if (current === undefined) accumulated[x.id] = dx;
      else {
        accumulated[x.id] = tf.add(current, dx);
        current.dispose();
      }
    }
  }
}
