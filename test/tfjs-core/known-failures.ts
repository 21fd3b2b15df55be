/**
 * Why tfjs-core specs fail on the wasm backend with and without paragen's
 * kernels. The gate does not need this list (it fails only on a spec that
 * passes on plain wasm and fails with paragen's kernels); it names the cause
 * of each spec that fails on both, and a spec no entry explains is printed
 * as "unexplained" so that a new failure is seen.
 *
 * The fused conv2d gradient specs (`gradient x=[2,3,3,1] f=[2,2,1,1] s=1 p=0`
 * with and without bias, `backProp input …`) fail on plain wasm but pass with
 * paragen's kernels, since training reaches that path: tfjs-layers' conv2d
 * calls `tf.fused.conv2d`, fused under a tape when the activation is linear
 * (the DCGAN discriminator). Without a bias they failed tfjs-core's
 * test-mode leak check, because wasm's Identity copied each tensor a custom
 * gradient saves (src/backend/wasm/identity.ts shares it instead); with the
 * spec's rank-4 bias, wasm's FusedConv2D refused the bias
 * (src/backend/wasm/fused-conv2d.ts adds any bias that broadcasts).
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
];

/** The first known cause that matches a spec's full name. */
export function explain(fullName: string): string | undefined {
  return knownFailures.find((k) => k.pattern.test(fullName))?.why;
}
