/**
 * paragen's version, read from its package.json. The file is found by walking
 * up from this module, because the module runs both from `src/cli/` (tests)
 * and from `dist/src/cli/` (the installed bin), at different depths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errors } from '../errors.js';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'paragen' && typeof pkg.version === 'string') return (cached = pkg.version);
    }
    const parent = dirname(dir);
    if (parent === dir) throw errors.internal("cannot find paragen's package.json above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}
