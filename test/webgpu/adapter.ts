/**
 * Whether this machine gives Dawn an adapter: a GPU's, or lavapipe's after
 * scripts/lavapipe.sh (vitest.config.ts loads its env). Without one the
 * webgpu tests skip, saying why.
 */
import { probeWebgpu } from '../../src/backend/webgpu.js';

const probe = await probeWebgpu();

export const webgpuAdapter = probe.ok ? probe.adapter : undefined;
export const noWebgpu = !probe.ok;

if (!probe.ok) {
  console.warn(`webgpu tests skipped: ${probe.missing} (CI runs scripts/lavapipe.sh from .ci/run)`);
}
