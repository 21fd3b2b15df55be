/**
 * The import graph of `src/` and `actors/`: every static, type-only and
 * dynamic relative import, by file and by layer (a folder of `src/` with its
 * subfolders; a file directly in `src/` on its own: `src/errors`, `src/domain`). It prints the
 * folder graph and every cycle, and exits 1 when there is one, when the
 * runtime (`src/actor/`) imports the application (`actors/`), or when an
 * import points up the layers (`LAYERS`).
 *
 *   npm run check:imports
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ImportGraph {
  /** File → the files it imports (paths relative to the root, `.ts`). */
  readonly files: ReadonlyMap<string, ReadonlySet<string>>;
  /** Folder → the folders it imports. */
  readonly folders: ReadonlyMap<string, ReadonlySet<string>>;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

function sources(root: string, folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(folder, entry.name);
    if (entry.isDirectory()) return sources(root, path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * The layer a file belongs to: its folder under `src/` (`src/cli/commands/train.ts` → `src/cli`), a file
 * directly in `src/` on its own (`src/errors.ts` → `src/errors`), `actors`.
 */
export function folderOf(file: string): string {
  const parts = file.replace(/\.ts$/, '').split('/');
  return parts[0] === 'src' ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function importGraph(root: string, folders: readonly string[] = ['src', 'actors']): ImportGraph {
  const files = new Map<string, Set<string>>();
  for (const file of folders.flatMap((f) => sources(root, f))) {
    const text = readFileSync(join(root, file), 'utf8');
    const targets = new Set<string>();
    for (const match of text.matchAll(SPECIFIER)) {
      const target = posix.normalize(posix.join(posix.dirname(file), match[1]!)).replace(/\.js$/, '.ts');
      if (folders.some((f) => target.startsWith(`${f}/`))) targets.add(target);
    }
    files.set(file, targets);
  }
  const byFolder = new Map<string, Set<string>>();
  for (const [file, targets] of files) {
    const from = folderOf(file);
    const set = byFolder.get(from) ?? new Set<string>();
    byFolder.set(from, set);
    for (const t of targets) if (folderOf(t) !== from) set.add(folderOf(t));
  }
  return { files, folders: byFolder };
}

/** The strongly connected components of more than one node (Tarjan), each sorted. */
export function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/**
 * The layers from the ground up (README, Architecture): a layer may import
 * only layers of a lower rank. Layers of one rank do not import each other.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  'src/domain': 0,
  'src/errors': 0,
  'src/rng': 0,
  'src/data': 1,
  'src/models': 1,
  'src/backend': 1,
  'src/actor': 2,
  actors: 3,
  'src/parallel': 4,
  'src/run': 5,
  'src/eval': 6,
  'src/bench': 6,
  'src/serve': 7,
  'src/cluster': 4,
  'src/cli': 8,
  'src/index': 8,
};

/** Folder imports that go up or sideways, or involve a folder `LAYERS` does not place. */
export function layerViolations(graph: ImportGraph): string[] {
  return [...graph.folders].flatMap(([from, targets]) =>
    [...targets].flatMap((to) => {
      const a = LAYERS[from];
      const b = LAYERS[to];
      if (a === undefined || b === undefined) return [`${a === undefined ? from : to} has no layer`];
      return b < a ? [] : [`${from} (layer ${a}) → ${to} (layer ${b})`];
    }),
  );
}

/** Imports from `src/actor/` into `actors/` (the runtime must not name the application). */
export function runtimeViolations(graph: ImportGraph): string[] {
  return [...graph.files].flatMap(([file, targets]) =>
    file.startsWith('src/actor/') ? [...targets].filter((t) => t.startsWith('actors/')).map((t) => `${file} → ${t}`) : [],
  );
}

function main(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/bench/: the sources are two folders up.
  const root = resolve(here, here.includes(`${join('dist', 'bench')}`) ? '../..' : '..');
  const graph = importGraph(root);
  console.log(`${graph.files.size} files in src/ and actors/\n\nfolders (→ what each imports):`);
  for (const [folder, targets] of [...graph.folders].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`  ${folder.padEnd(18)} → ${[...targets].sort().join(', ') || '(nothing)'}`);
  }
  const problems = [
    ...cycles(graph.folders).map((c) => `folder cycle: ${c.join(' ↔ ')}`),
    ...cycles(graph.files).map((c) => `file cycle: ${c.join(' ↔ ')}`),
    ...runtimeViolations(graph).map((v) => `runtime imports the application: ${v}`),
    ...layerViolations(graph).map((v) => `against the layers: ${v}`),
  ];
  console.log(
    problems.length === 0
      ? '\nno cycle between folders or files; src/actor/ imports nothing from actors/; every import points down the layers'
      : `\n${problems.join('\n')}`,
  );
  if (problems.length > 0) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
