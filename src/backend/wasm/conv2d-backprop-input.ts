/**
 * `Conv2DBackpropInput` for the wasm backend: the forward pass of every
 * `conv2dTranspose` and the input gradient of every `conv2d`. tfjs's wasm
 * kernel is a direct C++ loop at about a tenth of XNNPACK's convolution speed.
 *
 * We split the transposed convolution into its s_h·s_w "phases" (sub-pixel
 * decomposition). Output row ih receives taps kh ≡ (ih + pt) mod s only:
 *
 *   dx[ih] = Σ_j dy[q − j] · W[r + s·j],   r = (ih + pt) mod s,  q = ⌊(ih + pt)/s⌋
 *
 * so, for each residue r, the rows ih ≡ r − pt (mod s) form a stride-1
 * correlation of dy with the sub-filter W[r + s·j] flipped (input and output
 * channels swapped). Each phase is one XNNPACK convolution doing only useful
 * FLOPs — no zero-stuffing — and the phases are interleaved into dx. With
 * stride 1 there is one phase and its output is dx itself.
 *
 * When dx has very few channels (a generator's last layer: one), a phase's
 * convolution has too few output channels to fill XNNPACK's GEMM tiles; then
 * one GEMM dy·Wᵀ with KH·KW·CI columns plus a col2im pass is faster.
 */
import * as tf from '@tensorflow/tfjs';
import { col2im, geometry, gradientConvInfo, type ConvGeometry } from './im2col.js';
import { dispose, heapF32, reshape, run, transpose, type WasmBackend } from './internals.js';

/** Below this many dx channels, one GEMM plus col2im beats the phase convolutions. */
const COL2IM_BELOW_CHANNELS = 8;

type TensorInfo = tf.TensorInfo;

/** One residue's geometry along one spatial axis. */
interface Phase {
  residue: number; // r
  taps: number; // sub-filter length used in the convolution (J)
  first: number; // q_min: dx position q·s + r − pad ≥ 0
  last: number; // q_max: dx position ≤ size − 1
}

/** The padding of a phase convolution, and how its output index maps to q. */
interface Window {
  taps: number;
  padBefore: number;
  padAfter: number;
  offset: number; // conv output index u = q − offset
}

function phase(r: number, stride: number, kernel: number, pad: number, inSize: number): Phase {
  return {
    residue: r,
    taps: r < kernel ? Math.ceil((kernel - r) / stride) : 0,
    first: Math.ceil((pad - r) / stride),
    last: Math.floor((inSize - 1 + pad - r) / stride),
  };
}

/**
 * Conv output index u sees dy[u − padBefore + t], t = 0..taps−1, and must
 * equal Σ_j dy[q − j] with j = taps−1−t; so q = u + taps − 1 − padBefore.
 * Padding is never negative: surplus output rows are computed and skipped.
 */
function window(phases: Phase[], taps: number, outSize: number): Window {
  const first = Math.min(...phases.map((p) => p.first));
  const last = Math.max(...phases.map((p) => p.last));
  const padBefore = Math.max(0, taps - 1 - first);
  return { taps, padBefore, padAfter: Math.max(0, last + 1 - outSize), offset: taps - 1 - padBefore };
}

type Geometry = ConvGeometry;

/**
 * The flipped, channel-swapped sub-filters of `phases` stacked along the
 * output-channel axis: [Jh, Jw, CO, P·CI]. Taps past the kernel are zero.
 */
function subFilters(
  backend: WasmBackend,
  filter: TensorInfo,
  g: Geometry,
  phases: [Phase, Phase][],
  jh: number,
  jw: number,
): TensorInfo {
  const p = phases.length;
  const out = backend.makeOutput([jh, jw, g.co, p * g.ci], 'float32');
  const dst = heapF32(backend, out);
  const src = heapF32(backend, filter);
  dst.fill(0);
  for (let th = 0; th < jh; th++) {
    for (let tw = 0; tw < jw; tw++) {
      for (let k = 0; k < p; k++) {
        const [ph, pw] = phases[k]!;
        const khIdx = ph.residue + g.sh * (jh - 1 - th);
        const kwIdx = pw.residue + g.sw * (jw - 1 - tw);
        if (khIdx >= g.kh || kwIdx >= g.kw) continue;
        const base = (khIdx * g.kw + kwIdx) * g.ci * g.co;
        for (let c = 0; c < g.co; c++) {
          const o = ((th * jw + tw) * g.co + c) * p * g.ci + k * g.ci;
          for (let i = 0; i < g.ci; i++) dst[o + i] = src[base + i * g.co + c]!;
        }
      }
    }
  }
  return out;
}

/** The stride-1 XNNPACK correlation of dy with stacked sub-filters: [N, U, V, P·CI]. */
function correlate(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  g: Geometry,
  phases: [Phase, Phase][],
  wh: Window,
  ww: Window,
): TensorInfo {
  const sub = subFilters(backend, filter, g, phases, wh.taps, ww.taps);
  try {
    return run(
      backend,
      'Conv2D',
      { x: dy, filter: sub },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [wh.padBefore, wh.padAfter],
          [ww.padBefore, ww.padAfter],
          [0, 0],
        ],
        dilations: [1, 1],
        dataFormat: 'NHWC',
      } as unknown as tf.NamedAttrMap,
    );
  } finally {
    dispose(backend, sub);
  }
}

/** dx[n, q·s + r − pad, p·s + r' − pad', :] = out[n, q − offset, p − offset', k·CI + :]. */
function scatter(
  backend: WasmBackend,
  out: TensorInfo,
  dx: TensorInfo,
  g: Geometry,
  phases: [Phase, Phase][],
  wh: Window,
  ww: Window,
): void {
  const [, u, v, channels] = out.shape as [number, number, number, number];
  const { n, h, w, ci } = g;
  const src = heapF32(backend, out);
  const dst = heapF32(backend, dx);
  for (let k = 0; k < phases.length; k++) {
    const [ph, pw] = phases[k]!;
    const q0 = Math.max(ph.first, wh.offset);
    const q1 = Math.min(ph.last, u - 1 + wh.offset);
    const p0 = Math.max(pw.first, ww.offset);
    const p1 = Math.min(pw.last, v - 1 + ww.offset);
    for (let b = 0; b < n; b++) {
      for (let q = q0; q <= q1; q++) {
        const ih = q * g.sh + ph.residue - g.top;
        const rowSrc = (b * u + q - wh.offset) * v;
        const rowDst = (b * h + ih) * w;
        for (let p = p0; p <= p1; p++) {
          const s = (rowSrc + p - ww.offset) * channels + k * ci;
          const d = (rowDst + p * g.sw + pw.residue - g.left) * ci;
          if (ci >= 16) dst.set(src.subarray(s, s + ci), d);
          else for (let c = 0; c < ci; c++) dst[d + c] = src[s + c]!;
        }
      }
    }
  }
}

function conv2DBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
  const info = gradientConvInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs);
  const g = geometry(info);
  const fitted = fitDy(backend, dy, g);
  try {
    return backpropInput(backend, fitted, filter, info, g);
  } finally {
    if (fitted !== dy) dispose(backend, fitted);
  }
}

/**
 * dy as the geometry reads it. tfjs's kernels (cpu, wasm) index dy with its
 * own strides and read only its first OH×OW positions, so a caller may pass a
 * larger dy (tfjs-core's "vec4" conv2dTranspose spec does: 8×8 for a 4×4
 * output): crop it to [N, OH, OW, CO] once, rather than let the phase
 * convolutions run over rows the result must not see.
 */
function fitDy(backend: WasmBackend, dy: TensorInfo, g: Geometry): TensorInfo {
  const [n, h, w, c] = dy.shape as [number, number, number, number];
  if (h === g.oh && w === g.ow) return dy;
  if (n < g.n || h < g.oh || w < g.ow || c !== g.co) {
    throw new Error(
      `Conv2DBackpropInput on wasm: dy must be at least [${g.n},${g.oh},${g.ow},${g.co}] for input shape ` +
        `[${g.n},${g.h},${g.w},${g.ci}], got [${dy.shape}]`,
    );
  }
  return run(backend, 'Slice', { x: dy }, { begin: [0, 0, 0, 0], size: [g.n, g.oh, g.ow, g.co] });
}

function backpropInput(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  g: Geometry,
): TensorInfo {
  if (g.ci < COL2IM_BELOW_CHANNELS) return viaCol2im(backend, dy, filter, info);
  const live = (p: Phase) => p.taps > 0 && p.last >= p.first;
  const rows: Phase[] = [];
  const cols: Phase[] = [];
  for (let r = 0; r < g.sh; r++) rows.push(phase(r, g.sh, g.kh, g.top, g.h));
  for (let r = 0; r < g.sw; r++) cols.push(phase(r, g.sw, g.kw, g.left, g.w));

  const dx = backend.makeOutput([g.n, g.h, g.w, g.ci], 'float32');
  // Positions no phase reaches (a kernel smaller than the stride) stay zero.
  heapF32(backend, dx).fill(0);

  for (const ph of rows.filter(live)) {
    for (const pw of cols.filter(live)) {
      const wh = window([ph], ph.taps, g.oh);
      const ww = window([pw], pw.taps, g.ow);
      const out = correlate(backend, dy, filter, g, [[ph, pw]], wh, ww);
      try {
        scatter(backend, out, dx, g, [[ph, pw]], wh, ww);
      } finally {
        dispose(backend, out);
      }
    }
  }
  return dx;
}

/** cols [N·OH·OW, KH·KW·CI] = dy [N·OH·OW, CO] · Wᵀ [CO, KH·KW·CI], then col2im. */
function viaCol2im(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const g = geometry(info);
  let dy3: TensorInfo | undefined;
  let w3: TensorInfo | undefined;
  let wT: TensorInfo | undefined;
  let cols: TensorInfo | undefined;
  try {
    dy3 = reshape(backend, dy, [1, g.n * g.oh * g.ow, g.co]);
    w3 = reshape(backend, filter, [1, g.kh * g.kw * g.ci, g.co]);
    wT = transpose(backend, w3, [0, 2, 1]);
    cols = run(backend, 'BatchMatMul', { a: dy3, b: wT }, { transposeA: false, transposeB: false });
    const dx = backend.makeOutput([g.n, g.h, g.w, g.ci], 'float32');
    col2im(backend, cols, dx, g);
    return dx;
  } finally {
    dispose(backend, dy3, w3, wT, cols);
  }
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
