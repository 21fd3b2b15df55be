/**
 * The environment scripts/lavapipe.sh wrote (.cache/lavapipe/env), for
 * vitest.config.ts: set in vitest's own process before it forks its test
 * workers, since the dynamic loader reads LD_LIBRARY_PATH only when a process
 * starts. Variables already set (a real GPU's driver, a CI's own) win.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const LAVAPIPE_ENV = fileURLToPath(new URL('../.cache/lavapipe/env', import.meta.url));

export function lavapipeEnv(file = LAVAPIPE_ENV): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export function applyLavapipeEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (env['VK_ICD_FILENAMES'] !== undefined || env['VK_DRIVER_FILES'] !== undefined) return;
  const vars = lavapipeEnv();
  if (!vars['VK_ICD_FILENAMES']) return;
  env['VK_ICD_FILENAMES'] = vars['VK_ICD_FILENAMES'];
  const lib = vars['LD_LIBRARY_PATH'];
  if (lib) env['LD_LIBRARY_PATH'] = env['LD_LIBRARY_PATH'] ? `${lib}:${env['LD_LIBRARY_PATH']}` : lib;
}
