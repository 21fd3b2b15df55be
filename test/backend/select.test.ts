import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { backendChoices, fixes, probeBackends, useBackend } from '../../src/backend/index.js';
import { ParagenError } from '../../src/errors.js';

// The native packages are optional peers that cannot install on these machines
// (their install script downloads libtensorflow), so these tests describe the
// machine as CI has it: no tfjs-node, no tfjs-node-gpu, no CUDA device.

describe('useBackend', () => {
  it('auto chooses wasm with SIMD here and says why gpu and native were passed over', async () => {
    const info = await useBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(1);
    expect(info.needsProcessHost).toBe(false);
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toContain('gpu: @tensorflow/tfjs-node-gpu is not installed');
    expect(info.reason).toContain('native: @tensorflow/tfjs-node is not installed');
  });

  it('registers paragen’s kernels: conv training works on wasm', async () => {
    await useBackend('wasm');
    const grad = tf.tidy(() =>
      tf.grad((w: tf.Tensor) => tf.conv2d(tf.ones([1, 5, 5, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid').sum())(
        tf.ones([3, 3, 1, 1]),
      ),
    );
    expect(Array.from(grad.dataSync())).toEqual(new Array(9).fill(9));
    grad.dispose();
  });

  it('cpu is always available', async () => {
    const info = await useBackend('cpu');
    expect(info).toMatchObject({ name: 'cpu', tfjsBackend: 'cpu', simd: false, needsProcessHost: false });
    expect(tf.getBackend()).toBe('cpu');
    expect(info.reason).toBe('cpu: chosen explicitly');
  });

  it('an explicit gpu that cannot be honoured is an error naming the fix, not a fallback', async () => {
    await useBackend('cpu');
    const error = await useBackend('gpu').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParagenError);
    expect((error as ParagenError).message).toBe(
      'backend gpu needs @tensorflow/tfjs-node-gpu (CUDA 11.2, cuDNN 8.1): npm i @tensorflow/tfjs-node-gpu',
    );
    expect((error as ParagenError).exitCode).toBe(2);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('an explicit native that cannot be honoured names the fix', async () => {
    await expect(useBackend('native')).rejects.toThrow(fixes.native);
    await expect(useBackend('native')).rejects.toThrow('backend native needs @tensorflow/tfjs-node: npm i @tensorflow/tfjs-node');
  });

  it('rejects an unknown choice in one line', async () => {
    await expect(useBackend('tpu' as never)).rejects.toThrow(
      "backend must be one of 'auto', 'gpu', 'webgpu', 'native', 'wasm', 'cpu', got 'tpu'",
    );
    expect(backendChoices).toEqual(['auto', 'gpu', 'webgpu', 'native', 'wasm', 'cpu']);
  });
});

describe('probeBackends', () => {
  it('reports every backend and what is missing for the GPU path', async () => {
    const report = await probeBackends();
    expect(report.map((r) => r.name)).toEqual(['gpu', 'webgpu', 'native', 'wasm', 'cpu']);
    const gpu = report.find((r) => r.name === 'gpu')!;
    expect(gpu).toMatchObject({ installed: false, usable: false });
    expect(gpu.detail).toContain('npm i @tensorflow/tfjs-node-gpu');
    expect(report.find((r) => r.name === 'wasm')).toMatchObject({ installed: true, usable: true });
    expect(report.find((r) => r.name === 'wasm')!.detail).toContain('SIMD supported');
  });
});
