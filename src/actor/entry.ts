/**
 * Where a worker's entry file is. Worker threads and child processes run
 * plain JavaScript, so they always load the compiled `dist/` output — also
 * when the caller itself runs from `src/*.ts` under vitest, which compiles
 * only the files it imports in its own thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errors } from '../errors.js';

/** Top-level source folders that `npm run build` compiles into `dist/<folder>/`. */
const SOURCE_ROOTS = ['src', 'actors', 'bench'] as const;

/** This package's root: this file is `<root>/src/actor/entry.ts` or `<root>/dist/src/actor/entry.js`. */
const here = fileURLToPath(import.meta.url);
export const PACKAGE_ROOT = here.replace(/\/(dist\/)?src\/actor\/entry\.(ts|js)$/, '');

/**
 * The compiled path of `relative` (written with a `.js` extension, as in an
 * import) next to the module `base` (an `import.meta.url`).
 *
 * From `dist/src/actor/x.js` it is the sibling file. From `src/actor/x.ts`
 * it is `dist/src/actor/<relative>`. `exists` is injectable for tests.
 *
 * @example
 * const file = workerEntry(import.meta.url, './thread-entry.js');
 */
export function workerEntry(base: string, relative: string, exists: (path: string) => boolean = existsSync): string {
  const target = fileURLToPath(new URL(relative, base.startsWith('file:') ? base : pathToFileURL(base)));
  const compiled = compiledPath(target);
  if (!exists(compiled)) throw errors.workerNotBuilt(compiled);
  return compiled;
}

/**
 * `<root>/src/a/b.ts` → `<root>/dist/src/a/b.js`; a path already under `dist/`
 * only gets a `.js` extension. Under `root` (this package, by default) the
 * mapping is exact, whatever folder names the path holds (`src/bench/` has
 * two source-root names); elsewhere the innermost source-root folder anchors it.
 */
export function compiledPath(path: string, root: string = PACKAGE_ROOT): string {
  const js = path.replace(/\.(ts|mts)$/, '.js');
  if (js.startsWith(`${root}/`)) {
    const relative = js.slice(root.length + 1);
    return relative.startsWith('dist/') ? js : `${root}/dist/${relative}`;
  }
  const parts = js.split('/');
  // The last source-root segment not already preceded by `dist`: `/app/src/x` but also `/x/dist/src/y`.
  for (let i = parts.length - 2; i >= 0; i--) {
    if ((SOURCE_ROOTS as readonly string[]).includes(parts[i]!)) {
      if (parts[i - 1] === 'dist') return js;
      return [...parts.slice(0, i), 'dist', ...parts.slice(i)].join('/');
    }
  }
  return js;
}
