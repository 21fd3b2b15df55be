/**
 * im2col and col2im over the wasm heap, for convolutions with very few input
 * channels (an image's one channel, a generator's one output channel). There
 * XNNPACK's convolution tiles are mostly empty, while the same work as one
 * GEMM with K or N = KH·KW·CI keeps them full; the gather/scatter is a cheap
 * linear pass in comparison.
 */
import * as tf from '@tensorflow/tfjs';
import { heapF32, type WasmBackend } from './internals.js';

type TensorInfo = tf.TensorInfo;

/** The geometry of a conv2d forward pass, x [N,H,W,CI] → y [N,OH,OW,CO]. */
export interface ConvGeometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
  oh: number;
  ow: number;
}

/** The forward conv's geometry as the gradient kernels receive it (NHWC only, dilation 1). */
export function gradientConvInfo(
  kernel: string,
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: { strides: number | [number, number]; pad: tf.Conv2DBackpropInputAttrs['pad']; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): tf.backend_util.Conv2DInfo {
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${attrs.dataFormat}'`);
  }
  // tfjs computes conv gradients only for dilation 1 (its conv2d gradient asserts it).
  return tf.backend_util.computeConv2DInfo(
    [...inputShape] as [number, number, number, number],
    [...filterShape] as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    dataFormat,
  );
}

export function geometry(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    co: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    oh: info.outHeight,
    ow: info.outWidth,
  };
}

/**
 * colsᵀ of x: [1, KH·KW·CI, N·OH·OW], row k = (kh·KW + kw)·CI + ci holding,
 * for every output position m = (n·OH + oh)·OW + ow, the input value the tap
 * k multiplies there (zero in the padding).
 */
export function im2colT(backend: WasmBackend, x: TensorInfo, g: ConvGeometry): TensorInfo {
  const positions = g.n * g.oh * g.ow;
  const taps = g.kh * g.kw * g.ci;
  const out = backend.makeOutput([1, taps, positions], 'float32');
  const dst = heapF32(backend, out);
  const src = heapF32(backend, x);
  for (let kh = 0; kh < g.kh; kh++) {
    for (let kw = 0; kw < g.kw; kw++) {
      for (let c = 0; c < g.ci; c++) {
        let o = ((kh * g.kw + kw) * g.ci + c) * positions;
        for (let b = 0; b < g.n; b++) {
          for (let oh = 0; oh < g.oh; oh++) {
            const ih = oh * g.sh + kh - g.top;
            if (ih < 0 || ih >= g.h) {
              dst.fill(0, o, o + g.ow);
              o += g.ow;
              continue;
            }
            const row = (b * g.h + ih) * g.w;
            for (let ow = 0; ow < g.ow; ow++) {
              const iw = ow * g.sw + kw - g.left;
              dst[o++] = iw < 0 || iw >= g.w ? 0 : src[(row + iw) * g.ci + c]!;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Adds cols [N·OH·OW, KH·KW·CI] back into a zeroed dx [N,H,W,CI]: the
 * transpose of im2col, summing where taps overlap.
 */
export function col2im(backend: WasmBackend, cols: TensorInfo, dx: TensorInfo, g: ConvGeometry): void {
  const src = heapF32(backend, cols);
  const dst = heapF32(backend, dx);
  dst.fill(0);
  let s = 0;
  for (let b = 0; b < g.n; b++) {
    for (let oh = 0; oh < g.oh; oh++) {
      for (let ow = 0; ow < g.ow; ow++) {
        for (let kh = 0; kh < g.kh; kh++) {
          const ih = oh * g.sh + kh - g.top;
          if (ih < 0 || ih >= g.h) {
            s += g.kw * g.ci;
            continue;
          }
          const row = (b * g.h + ih) * g.w;
          for (let kw = 0; kw < g.kw; kw++) {
            const iw = ow * g.sw + kw - g.left;
            if (iw < 0 || iw >= g.w) {
              s += g.ci;
              continue;
            }
            const d = (row + iw) * g.ci;
            for (let c = 0; c < g.ci; c++) dst[d + c] += src[s++]!;
          }
        }
      }
    }
  }
}
