/**
 * `FusedConv2D` for the wasm backend, with any bias that broadcasts. tfjs's
 * wasm kernel (XNNPACK) takes only a rank-1 bias of one value per output
 * channel, while `tf.fused.conv2d` accepts any bias that broadcasts to the
 * output, and its gradient (which training takes whenever a conv layer's
 * activation is linear, as in the DCGAN discriminator) is written for that.
 * A rank-1 bias goes straight to tfjs's kernel; any other runs the
 * convolution there without bias, then wasm's `Add` and the activation's own
 * kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { dispose, original, run, type WasmBackend } from './internals.js';

type TensorInfo = tf.TensorInfo;

/** The activation applied after the bias: the wasm kernel that computes it. */
function activate(
  backend: WasmBackend,
  x: TensorInfo,
  activation: string,
  alpha: TensorInfo | undefined,
  leakyreluAlpha: number | undefined,
): TensorInfo {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return run(backend, 'Relu', { x });
    case 'relu6':
      return run(backend, 'Relu6', { x });
    case 'elu':
      return run(backend, 'Elu', { x });
    case 'sigmoid':
      return run(backend, 'Sigmoid', { x });
    case 'leakyrelu':
      return run(backend, 'LeakyRelu', { x }, { alpha: leakyreluAlpha ?? 0.2 });
    case 'prelu':
      if (!alpha) throw new Error('FusedConv2D on wasm: prelu activation needs preluActivationWeights');
      return run(backend, 'Prelu', { x, alpha });
    default:
      throw new Error(`${activation} activation not yet supported for FusedConv2D in the wasm backend.`);
  }
}

function fusedConv2D(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, filter, bias, preluActivationWeights } = args.inputs as {
    x: TensorInfo;
    filter: TensorInfo;
    bias?: TensorInfo;
    preluActivationWeights?: TensorInfo;
  };
  const outChannels = filter.shape[3];
  if (!bias || (bias.shape.length === 1 && bias.shape[0] === outChannels)) {
    return original('FusedConv2D', backend)(args) as TensorInfo;
  }
  const attrs = (args.attrs ?? {}) as unknown as tf.FusedConv2DAttrs;
  const conv = original('FusedConv2D', backend)({
    inputs: { x, filter },
    backend,
    attrs: { ...attrs, activation: 'linear' } as unknown as tf.NamedAttrMap,
  }) as TensorInfo;
  let sum: TensorInfo | undefined;
  try {
    sum = run(backend, 'Add', { a: conv, b: bias });
    const out = activate(backend, sum, attrs.activation, preluActivationWeights, attrs.leakyreluAlpha);
    if (out === sum) sum = undefined;
    return out;
  } finally {
    dispose(backend, conv, sum);
  }
}

export const fusedConv2DConfig: tf.KernelConfig = {
  kernelName: tf.FusedConv2D,
  backendName: 'wasm',
  kernelFunc: fusedConv2D as unknown as tf.KernelFunc,
};
