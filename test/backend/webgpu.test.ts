/**
 * The webgpu backend's choices that need no adapter: when `auto` does not
 * even start Dawn, how an adapter is described, and the fixes it names.
 */
import { describe, expect, it } from 'vitest';
import { adapterLine, autoSkipReason, webgpuFixes, webgpuInstalled, type WebgpuAdapter } from '../../src/backend/webgpu.js';

const lavapipe: WebgpuAdapter = {
  vendor: 'mesa',
  architecture: 'software',
  device: 'llvmpipe',
  description: 'llvmpipe: Mesa 25.0.7',
  fallback: true,
  limits: {
    maxBufferSize: 2 ** 32 - 1,
    maxStorageBufferBindingSize: 2 ** 27,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 1024,
    maxComputeWorkgroupsPerDimension: 65535,
  },
};

describe('webgpu', () => {
  it('is installed for the tests (a devDependency)', () => {
    expect(webgpuInstalled()).toBe(true);
  });

  it.runIf(process.platform === 'linux')('lets auto skip Dawn when only lavapipe is configured, or there is no Vulkan loader', () => {
    expect(autoSkipReason({ VK_ICD_FILENAMES: '/x/lvp_icd.json' })).toBe(
      'webgpu: only a software Vulkan driver (lavapipe) is configured; auto uses it only when asked: --backend webgpu',
    );
    expect(autoSkipReason({ VK_DRIVER_FILES: '/x/lvp_icd.json:/y/lvp_icd.x86_64.json' })).toContain('only a software Vulkan driver');
    // A real driver among them: whether auto may start Dawn then depends on the loader alone.
    const withNvidia = autoSkipReason({ VK_ICD_FILENAMES: '/x/lvp_icd.json:/etc/vulkan/icd.d/nvidia_icd.json', LD_LIBRARY_PATH: '' });
    expect([undefined, 'webgpu: no Vulkan loader (libvulkan.so.1) on this machine']).toContain(withNvidia);
  });

  it('describes an adapter in one line, fallback or not', () => {
    expect(adapterLine(lavapipe)).toBe(
      'llvmpipe: Mesa 25.0.7 (mesa, software, fallback adapter; max buffer 4096 MiB, max storage binding 128 MiB)',
    );
    expect(adapterLine({ ...lavapipe, fallback: false, architecture: '' })).toContain('(mesa, unknown architecture, adapter;');
    expect(webgpuFixes.fallback(lavapipe)).toBe(
      'webgpu: the adapter is a fallback (llvmpipe: Mesa 25.0.7); auto uses it only when asked: --backend webgpu',
    );
  });

  it('names the packages and versions to install', () => {
    expect(webgpuFixes.install).toBe(
      'backend webgpu needs webgpu and @tensorflow/tfjs-backend-webgpu: npm i webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0',
    );
    expect(webgpuFixes.dawn('GLIBC_2.34 not found')).toBe(
      'backend webgpu could not load dawn.node (needs glibc 2.34+: Debian 12, Ubuntu 22.04 or newer): GLIBC_2.34 not found',
    );
  });
});
