/**
 * Why tfjs-core specs fail on the wasm backend with and without paragen's
 * kernels. The gate does not need this list (it fails only on a spec that
 * passes on plain wasm and fails with paragen's kernels); it names the cause
 * of each spec that fails on both, and a spec no entry explains is printed
 * as "unexplained" so that a new failure is seen.
 */
export const knownFailures: readonly { pattern: RegExp; why: string }[] = [
  {
    pattern: /NCHW/,
    why: 'wasm’s Conv2D and FusedConv2D (XNNPACK) take NHWC only; so do paragen’s gradient kernels',
  },
  {
    pattern: /^tile .* string tensor/,
    why: 'wasm’s Tile aborts on strings inside tfjs’s wasm module; paragen’s Tile hands strings to it unchanged',
  },
  {
    pattern: /^tensor\.toString .* long string tensor/,
    why: 'printing a long string tensor slices it with a wasm kernel, which knows no string dtype',
  },
  {
    pattern: /complex/,
    why: 'the wasm backend has no Complex kernel (complex64 tensors)',
  },
  {
    pattern: /^tensor .* Tensor2D (float32|int32) -> bool$/,
    why: 'wasm’s Cast to bool truncates instead of testing ≠ 0 (3.9 → 3); paragen does not replace Cast',
  },
  {
    pattern: /^matmul .* upcasts when dtypes dont match/,
    why: 'int32 × float32: wasm’s BatchMatMul (tfjs’s and paragen’s) takes float32 only',
  },
  {
    pattern: /^fused matmul .* (2d bias|broadcasted bias different rank)/,
    why: 'wasm’s _FusedMatMul (not replaced by paragen) takes a rank-1 bias only',
  },
  {
    pattern: /^fused conv2d .* (broadcasted bias|scalar bias)/,
    why: 'wasm’s FusedConv2D (not replaced by paragen) takes a rank-1 bias only',
  },
  {
    // tfjs-layers' conv2d always passes a rank-1 bias [filters], so training never sends this shape.
    pattern: /^fused conv2d .* gradient x=\[2,3,3,1\] f=\[2,2,1,1\] s=1 p=0 with bias$/,
    why: 'the spec’s bias is rank 4 ([2,2,2,1]); wasm’s FusedConv2D forward (not replaced) takes a rank-1 bias only',
  },
  {
    // Only under the IS_TEST flag: training (flag off) is unaffected, and the copies are freed after backprop.
    pattern: /^(fused conv2d .* (backProp input|gradient) x=\[2,3,3,1\] f=\[2,2,1,1\] s=1 p=0|customGradient .*)$/,
    why:
      'tfjs-core’s test-mode leak check: a custom gradient’s save() clones its tensors, and wasm’s Identity ' +
      'copies (the cpu backend shares), so the clones count as leaked data ids; no kernel result is checked wrong',
  },
];

/** The first known cause that matches a spec's full name. */
export function explain(fullName: string): string | undefined {
  return knownFailures.find((k) => k.pattern.test(fullName))?.why;
}
