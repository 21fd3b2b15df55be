import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpuEnvironment, visibleCudaDevices } from '../../src/backend/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'paragen-cuda-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('visibleCudaDevices', () => {
  it('lists one id per GPU folder of the driver', async () => {
    const gpus = join(root, 'gpus');
    for (const bus of ['0000:01:00.0', '0000:41:00.0', '0000:81:00.0']) await mkdir(join(gpus, bus), { recursive: true });
    expect(visibleCudaDevices({}, gpus)).toEqual(['0', '1', '2']);
    expect(visibleCudaDevices({}, join(root, 'no-driver'))).toEqual([]);
  });

  it("takes the parent's CUDA_VISIBLE_DEVICES as it is, up to the first -1", () => {
    const none = join(root, 'no-driver');
    expect(visibleCudaDevices({ CUDA_VISIBLE_DEVICES: '2, 0' }, none)).toEqual(['2', '0']);
    expect(visibleCudaDevices({ CUDA_VISIBLE_DEVICES: 'GPU-8e1a' }, none)).toEqual(['GPU-8e1a']);
    expect(visibleCudaDevices({ CUDA_VISIBLE_DEVICES: '1,-1,2' }, none)).toEqual(['1']);
    expect(visibleCudaDevices({ CUDA_VISIBLE_DEVICES: '-1' }, none)).toEqual([]);
    expect(visibleCudaDevices({ CUDA_VISIBLE_DEVICES: '' }, none)).toEqual([]);
  });
});

describe('gpuEnvironment', () => {
  it('gives each process a GPU of its own while there are enough', () => {
    expect([0, 1].map((w) => gpuEnvironment(w, 2, ['0', '1'], {}))).toEqual([
      { CUDA_VISIBLE_DEVICES: '0' },
      { CUDA_VISIBLE_DEVICES: '1' },
    ]);
  });

  it('shares GPUs round robin with memory growth when there are more processes', () => {
    expect([0, 1, 2].map((w) => gpuEnvironment(w, 3, ['3', '5'], {}))).toEqual([
      { CUDA_VISIBLE_DEVICES: '3', TF_FORCE_GPU_ALLOW_GROWTH: 'true' },
      { CUDA_VISIBLE_DEVICES: '5', TF_FORCE_GPU_ALLOW_GROWTH: 'true' },
      { CUDA_VISIBLE_DEVICES: '3', TF_FORCE_GPU_ALLOW_GROWTH: 'true' },
    ]);
    // The user's own setting stays (the child inherits it).
    expect(gpuEnvironment(0, 3, ['3'], { TF_FORCE_GPU_ALLOW_GROWTH: 'false' })).toEqual({ CUDA_VISIBLE_DEVICES: '3' });
  });

  it('sets nothing without GPUs', () => {
    expect(gpuEnvironment(0, 2, [], {})).toEqual({});
  });
});
