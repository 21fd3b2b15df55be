/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs registers none, so no conv
 * network can train on wasm without it).
 *
 * The filter gradient is itself a convolution, which we hand to XNNPACK:
 *
 *   dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s + kh − pt, ow·s + kw − pl, ci] · dy[n,oh,ow,co]
 *
 * Read x as an NHWC image batch X' = xᵀ of shape [CI, H, W, N] (batch = input
 * channels, channels = examples) and dy as a filter F' of shape [OH, OW, N, CO].
 * Then dW, laid out [CI, KH, KW, CO], is conv2d(X', F') with stride 1, dilation
 * s (the forward stride) and the forward padding on the top and left; the
 * bottom and right padding are chosen so that exactly KH×KW positions come out
 * (or, where the forward pass ignored trailing rows, the extra rows are sliced
 * off). Three transposes of O(size) move data; all the FLOPs run in XNNPACK.
 */
import * as tf from '@tensorflow/tfjs';
import { geometry, gradientConvInfo, im2colT } from './im2col.js';
import { dispose, reshape, run, transpose, type WasmBackend } from './internals.js';

/** Below this many input channels, the filter gradient is one im2col GEMM. */
const IM2COL_BELOW_CHANNELS = 8;

type TensorInfo = tf.TensorInfo;

function conv2DBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = gradientConvInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);

  if (info.inChannels < IM2COL_BELOW_CHANNELS) return viaIm2col(backend, x, dy, info);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;

  // Padding that makes the correlation produce KH×KW positions (never negative;
  // any surplus rows/columns are sliced off below).
  const bottom = Math.max(0, kh - h - top + (oh - 1) * sh);
  const right = Math.max(0, kw - w - left + (ow - 1) * sw);
  const outH = h + top + bottom - (oh - 1) * sh;
  const outW = w + left + right - (ow - 1) * sw;

  let xT: TensorInfo | undefined;
  let dyT: TensorInfo | undefined;
  let corr: TensorInfo | undefined;
  let cropped: TensorInfo | undefined;
  try {
    xT = transpose(backend, x, [3, 1, 2, 0]); // [CI, H, W, N]
    dyT = transpose(backend, dy, [1, 2, 0, 3]); // [OH, OW, N, CO]
    corr = run(
      backend,
      'Conv2D',
      { x: xT, filter: dyT },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dilations: [sh, sw],
        dataFormat: 'NHWC',
      } as unknown as tf.NamedAttrMap,
    ); // [CI, outH, outW, CO]
    let source = corr;
    if (outH !== kh || outW !== kw) {
      cropped = run(
        backend,
        'Slice',
        { x: corr },
        { begin: [0, 0, 0, 0], size: [info.inChannels, kh, kw, info.outChannels] },
      );
      source = cropped;
    }
    return transpose(backend, source, [1, 2, 0, 3]); // [KH, KW, CI, CO]
  } finally {
    dispose(backend, xT, dyT, corr, cropped);
  }
}

/** dW [KH·KW·CI, CO] = colsᵀ [KH·KW·CI, N·OH·OW] · dy [N·OH·OW, CO]. */
function viaIm2col(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const g = geometry(info);
  let cols: TensorInfo | undefined;
  let dy3: TensorInfo | undefined;
  let flat: TensorInfo | undefined;
  try {
    cols = im2colT(backend, x, g);
    dy3 = reshape(backend, dy, [1, g.n * g.oh * g.ow, g.co]);
    flat = run(backend, 'BatchMatMul', { a: cols, b: dy3 }, { transposeA: false, transposeB: false });
    return reshape(backend, flat, [g.kh, g.kw, g.ci, g.co]);
  } finally {
    dispose(backend, cols, dy3, flat);
  }
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
