import { defineConfig } from 'vitest/config';
import { applyLavapipeEnv } from './test/lavapipe-env.js';

// The webgpu tests' software Vulkan device, when scripts/lavapipe.sh has installed it.
applyLavapipeEnv();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Kernel and training tests are CPU-heavy; two files at a time fits two cores.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
