/**
 * `paragen` on webgpu as a user runs it, in child processes: info names the
 * adapter; a missing adapter is one line naming the fix; a webgpu actor
 * killed mid-run is restarted and the run ends with exit 0, not the abort
 * (134) that ending a thread with a GPU read pending causes.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { webgpuFixes } from '../../src/backend/webgpu.js';
import { paragen } from '../helpers/cli.js';
import { noWebgpu } from './adapter.js';

const dir = mkdtempSync(join(tmpdir(), 'paragen-webgpu-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('paragen --backend webgpu without an adapter', () => {
  it('fails with one line naming the fix, exit 2', async () => {
    const env = { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-such-icd.json') };
    const r = await paragen(['train', '--backend', 'webgpu', '--steps', '1', '--out', join(dir, 'none')], { env });
    expect(r.code).toBe(2);
    // Dawn's own warnings come first on stderr (native code, not paragen's); paragen's is one line.
    const ours = r.stderr.split('\n').filter((l) => l.includes('backend webgpu'));
    expect(ours).toEqual([webgpuFixes.noAdapter]);
  });
});

describe.skipIf(noWebgpu)('paragen on webgpu', () => {
  it('info --json names webgpu usable, with its adapter', async () => {
    const r = await paragen(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { backends: { name: string; usable: boolean; adapter?: { vendor: string } }[]; webgpu: { ok: boolean } };
    const webgpu = info.backends.find((b) => b.name === 'webgpu');
    expect(webgpu).toMatchObject({ usable: true, adapter: { vendor: expect.any(String) } });
    expect(info.webgpu.ok).toBe(true);
  });

  it('restarts a webgpu actor killed at step 2 and finishes with exit 0', async () => {
    const out = join(dir, 'crash');
    const r = await paragen([
      'train', '--backend', 'webgpu', '--model', 'vae-mlp', '--strategy', 'model', '--host', 'process',
      '--steps', '3', '--batch-size', '16', '--snapshot-every', '1', '--fault', 'crash:decoder@2', '--out', out,
    ]);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain('restarted decoder (restart 1');
    expect(readdirSync(join(out, 'checkpoints'))).toContain('3');
  });
});
