/**
 * Training kernels on wasm, side by side with their plain twins, in one process.
 *
 *   npm run bench:kernels [-- --reps 20 --batch 64 --json]
 *
 * For each shape of the DCGAN tutorial networks and the PyTorch-example VAE it
 * prints GFLOP/s of: paragen's kernel; its twin (the plain product `matMul`
 * without transposes, or `conv2d` forward of the same FLOPs); the ratio; and
 * tfjs's own wasm kernel where one exists. Each figure is the median of
 * `--reps` timed calls after warm-up; a kernel and its twin are timed in turns.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/index.js';
import { captureOriginal } from '../src/backend/wasm/index.js';

interface Row {
  kernel: string;
  shape: string;
  gflop: number;
  paragen: number;
  twin: number;
  ratio: number;
  tfjs: number | null;
}

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '15' },
    batch: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
    'skip-tfjs': { type: 'boolean', default: false },
  },
});
const reps = Number(values.reps);
const batch = Number(values.batch);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median seconds of `fn` (which returns a tensor it owns), after two warm-up calls. */
function time(fn: () => tf.Tensor, n = reps): number {
  for (let i = 0; i < 2; i++) fn().dispose();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const out = fn();
    times.push((performance.now() - t0) / 1000);
    out.dispose();
  }
  return median(times);
}

/**
 * Median seconds of each of `fns`, timed in turns (a call of each per round),
 * so that a burst of load from elsewhere on a shared machine hits every
 * kernel of a row alike and the ratios hold.
 */
function timeTogether(fns: (() => tf.Tensor)[], n = reps): number[] {
  for (const fn of fns) for (let i = 0; i < 2; i++) fn().dispose();
  const times = fns.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    fns.forEach((fn, j) => {
      const t0 = performance.now();
      const out = fn();
      times[j]!.push((performance.now() - t0) / 1000);
      out.dispose();
    });
  }
  return times.map(median);
}

/** Runs tfjs's original wasm kernel `name` (captured before paragen replaced it). */
function originalKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  const config = captureOriginal(name);
  const backend = tf.backend();
  // tfjs set up only the kernels registered when the backend started.
  config.setupFunc?.(backend);
  const info = config.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

function randn(shape: number[]): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', 7);
}

const rows: Row[] = [];

function matmulRow(label: string, m: number, k: number, n: number, ta: boolean, tb: boolean): void {
  const a = randn(ta ? [k, m] : [m, k]);
  const b = randn(tb ? [n, k] : [k, n]);
  const a0 = randn([m, k]);
  const b0 = randn([k, n]);
  const gflop = (2 * m * k * n) / 1e9;
  const [tp, tt] = timeTogether([() => tf.matMul(a, b, ta, tb), () => tf.matMul(a0, b0)]);
  const paragen = gflop / tp!;
  const twin = gflop / tt!;
  const tfjs = values['skip-tfjs']
    ? null
    : gflop / time(() => originalKernel('BatchMatMul', { a, b }, { transposeA: ta, transposeB: tb }), 3);
  rows.push({
    kernel: `matMul${ta ? ' transposeA' : ''}${tb ? ' transposeB' : ''}`,
    shape: `${label} [${ta ? `${k},${m}]ᵀ` : `${m},${k}]`}·[${tb ? `${n},${k}]ᵀ` : `${k},${n}]`}`,
    gflop,
    paragen,
    twin,
    ratio: paragen / twin,
    tfjs,
  });
  tf.dispose([a, b, a0, b0]);
}

function convRows(label: string, h: number, ci: number, co: number, k: number, s: number): void {
  const x = randn([batch, h, h, ci]);
  const w = randn([k, k, ci, co]);
  const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same');
  const dy = randn(y.shape);
  const [, oh, ow] = y.shape;
  const gflop = (2 * batch * oh * ow * k * k * ci * co) / 1e9;
  const [tt, ti, tf_] = timeTogether([
    () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same'),
    () => tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [batch, h, h, ci], s, 'same'),
    () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: w.shape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
  ]);
  const twin = gflop / tt!;
  const input = gflop / ti!;
  const filter = gflop / tf_!;
  const tfjsInput = values['skip-tfjs']
    ? null
    : gflop /
      time(
        () => originalKernel('Conv2DBackpropInput', { dy, filter: w }, {
          inputShape: [batch, h, h, ci], strides: s, pad: 'same', dataFormat: 'NHWC',
        }),
        3,
      );
  const shape = `${label} ${h}×${h}×${ci}→${oh}×${ow}×${co} k${k} s${s} b${batch}`;
  rows.push({ kernel: 'Conv2DBackpropInput', shape, gflop, paragen: input, twin, ratio: input / twin, tfjs: tfjsInput });
  rows.push({ kernel: 'Conv2DBackpropFilter', shape, gflop, paragen: filter, twin, ratio: filter / twin, tfjs: null });
  tf.dispose([x, w, y, dy]);
}

const info = await useBackend('wasm');
// DCGAN (TensorFlow tutorial) at batch `batch`.
matmulRow('dcgan G dense dW', 100, batch, 12544, true, false);
matmulRow('dcgan G dense dx', batch, 12544, 100, false, true);
matmulRow('dcgan D dense dW', 6272, batch, 1, true, false);
// A conv2dTranspose layer's forward pass is the Conv2DBackpropInput of the conv
// that maps its output shape back to its input shape, so D conv1 is also G's
// last layer, D conv2 also G's second.
convRows('dcgan D conv1 = G convT3', 28, 1, 64, 5, 2);
convRows('dcgan D conv2 = G convT2', 14, 64, 128, 5, 2);
convRows('dcgan G convT1', 7, 128, 256, 5, 1);
// VAE 784-400-20 at batch 128.
matmulRow('vae fc1 dW', 784, 128, 400, true, false);
matmulRow('vae fc1 dx', 128, 400, 784, false, true);
matmulRow('vae fc4 dW', 400, 128, 784, true, false);
matmulRow('vae fc4 dx', 128, 784, 400, false, true);
matmulRow('square 512', 512, 512, 512, true, false);
matmulRow('square 512', 512, 512, 512, false, true);

if (values.json) {
  console.log(JSON.stringify({ backend: info, batch, reps, rows }, null, 2));
} else {
  const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(1));
  console.log(`backend ${info.name} (simd ${info.simd}), median of ${reps} calls; GFLOP/s`);
  console.log('| kernel | shape | paragen | twin | paragen/twin | tfjs wasm |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.kernel} | ${r.shape} | ${fmt(r.paragen)} | ${fmt(r.twin)} | ${(r.ratio * 100).toFixed(0)}% | ${fmt(r.tfjs)} |`);
  }
}
