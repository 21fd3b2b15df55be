/**
 * tfjs-core's own op specs (shipped in `@tensorflow/tfjs-core/dist/`) on the
 * wasm backend, twice: plain tfjs, and with paragen's training kernels
 * registered. A spec that passes on plain wasm and fails with paragen's
 * kernels is a regression of ours.
 *
 * The spec files are ES modules written for a bundler (extensionless imports,
 * a `require` of jasmine-core), and they must share one tfjs-core instance
 * with the wasm backend and our kernels; so each suite is bundled with esbuild
 * (tfjs packages through their ES `module` entry) and run by jasmine in a
 * child process of its own per configuration.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const require = createRequire(import.meta.url);

/**
 * The suites that reach a kernel paragen registers (src/backend/wasm/register.ts):
 * BatchMatMul (matMul, dot, and the gradients of fused matMul and of every
 * dense layer), Conv2DBackpropInput and Conv2DBackpropFilter (conv gradients,
 * conv2dTranspose), Tile (tile, broadcastTo, batch norm's gradient),
 * Identity (clone, and every tensor a kernel saves for its gradient, so
 * every gradient spec; the tensor and engine specs check its memory counts),
 * FusedConv2D (fused conv2d, and tfjs-layers' conv2d).
 */
export const suiteFiles = [
  'ops/mat_mul_test',
  'ops/fused/fused_mat_mul_test',
  'ops/conv2d_test',
  'ops/conv2d_transpose_test',
  'ops/conv1d_test',
  'ops/conv2d_separable_test',
  'ops/fused/fused_conv2d_test',
  'ops/tile_test',
  'ops/broadcast_to_test',
  'ops/batchnorm_test',
  'gradients_test',
  'ops/clone_test',
  'tensor_test',
  'engine_test',
] as const;

export type Configuration = 'plain' | 'paragen';

export interface SpecOutcome {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  /** The first line of the first failed expectation; empty when it passed. */
  message: string;
}

export interface SuiteComparison {
  suite: string;
  plain: { passed: number; failed: number };
  paragen: { passed: number; failed: number };
  /** Pass on plain wasm, fail with paragen's kernels. Must be empty. */
  regressions: SpecOutcome[];
  /** Fail on both; `message` is paragen's. */
  bothFail: SpecOutcome[];
  /** Fail on plain wasm, pass with paragen's kernels. */
  fixed: string[];
}

/** Inside node_modules, so that the bundles resolve the packages they leave out. */
const cacheRoot = join(root, 'node_modules', '.cache', 'paragen-tfjs-core');

/** Bundles every suite with the setup in front and the runner behind; returns bundle paths by suite. */
async function bundle(suites: readonly string[], cacheDir: string): Promise<Map<string, string>> {
  const entries: Record<string, string> = {};
  for (const suite of suites) {
    const name = suite.replaceAll('/', '__');
    const entry = join(cacheDir, `${name}.entry.ts`);
    const lines = [
      `import ${JSON.stringify(join(here, 'setup.ts'))};`,
      `import '@tensorflow/tfjs-core/dist/${suite}.js';`,
      `import ${JSON.stringify(join(here, 'execute.ts'))};`,
    ];
    await writeFile(entry, lines.join('\n') + '\n');
    entries[name] = entry;
  }
  await build({
    entryPoints: entries,
    outdir: cacheDir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // One tfjs-core for the specs, the backend and our kernels: its ES entry.
    mainFields: ['module', 'main'],
    // Our kernels use only tfjs-core's API; the full `@tensorflow/tfjs` would
    // pull in layers, converter and webgl for nothing.
    alias: { '@tensorflow/tfjs': '@tensorflow/tfjs-core' },
    // The runner stays a package (the bundle sits in node_modules/.cache, so it resolves).
    external: ['jasmine'],
    // tfjs-core's package.json marks its spec files free of side effects;
    // declaring specs is all they do, so keep every import.
    ignoreAnnotations: true,
    logLevel: 'error',
  });
  return new Map(suites.map((s) => [s, join(cacheDir, `${s.replaceAll('/', '__')}.cjs`)]));
}

/** Runs one bundle in a child process; rejects with one line naming the suite when it does not report. */
function runBundle(suite: string, path: string, config: Configuration, timeoutMs: number): Promise<SpecOutcome[]> {
  const report = `${path}.${config}.json`;
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [path], {
      env: { ...process.env, TFJS_WASM_DIR: wasmDir, TFJS_SUITE_REPORT: report, PARAGEN_KERNELS: config === 'paragen' ? '1' : '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const why = signal ? `was killed (${signal}; limit ${timeoutMs} ms)` : `exited with code ${code}`;
        const last = stderr.trim().split('\n').pop() ?? '';
        reject(new Error(`tfjs-core suite ${suite} (${config}) ${why}: ${last}`));
        return;
      }
      readFile(report, 'utf8').then((text) => resolvePromise(JSON.parse(text) as SpecOutcome[]), reject);
    });
  });
}

/** Spec names made unique (tfjs-core repeats a few), so the two runs pair up. */
function byName(specs: SpecOutcome[]): Map<string, SpecOutcome> {
  const out = new Map<string, SpecOutcome>();
  for (const spec of specs) {
    let key = spec.name;
    for (let i = 2; out.has(key); i++) key = `${spec.name} (#${i})`;
    out.set(key, { ...spec, name: key });
  }
  return out;
}

function count(specs: SpecOutcome[]): { passed: number; failed: number } {
  return {
    passed: specs.filter((s) => s.status === 'passed').length,
    failed: specs.filter((s) => s.status === 'failed').length,
  };
}

export function compare(suite: string, plainSpecs: SpecOutcome[], paragenSpecs: SpecOutcome[]): SuiteComparison {
  const plain = byName(plainSpecs);
  const paragen = byName(paragenSpecs);
  const regressions: SpecOutcome[] = [];
  const bothFail: SpecOutcome[] = [];
  const fixed: string[] = [];
  for (const [name, p] of plain) {
    const q = paragen.get(name) ?? { name, status: 'failed' as const, message: 'did not run with paragen’s kernels' };
    if (p.status === 'passed' && q.status !== 'passed') regressions.push(q);
    else if (p.status === 'failed' && q.status === 'failed') bothFail.push(q);
    else if (p.status === 'failed' && q.status === 'passed') fixed.push(name);
  }
  return { suite, plain: count(plainSpecs), paragen: count(paragenSpecs), regressions, bothFail, fixed };
}

/** Runs every suite in both configurations, `parallel` child processes at a time. */
export async function runSuites(
  options: { suites?: readonly string[]; parallel?: number; timeoutMs?: number } = {},
): Promise<SuiteComparison[]> {
  const suites = options.suites ?? suiteFiles;
  await mkdir(cacheRoot, { recursive: true });
  // A folder per run: two test runs in one checkout must not share bundles.
  const cacheDir = await mkdtemp(join(cacheRoot, 'run-'));
  try {
    const bundles = await bundle(suites, cacheDir);
    const jobs = suites.flatMap((suite) => (['plain', 'paragen'] as const).map((config) => ({ suite, config })));
    const results = new Map<string, SpecOutcome[]>();
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < jobs.length && !failed) {
        const { suite, config } = jobs[next++]!;
        try {
          results.set(`${suite}:${config}`, await runBundle(suite, bundles.get(suite)!, config, options.timeoutMs ?? 180_000));
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    };
    // Every child ends before the bundles are removed; the first failure is the one reported.
    const settled = await Promise.allSettled(Array.from({ length: options.parallel ?? 2 }, worker));
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    return suites.map((suite) => compare(suite, results.get(`${suite}:plain`)!, results.get(`${suite}:paragen`)!));
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/** The table and lists the gate prints. */
export function formatReport(rows: SuiteComparison[], explain: (name: string) => string | undefined): string {
  const lines = ['| suite | plain pass/fail | paragen pass/fail | fail on both |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    lines.push(`| ${r.suite} | ${r.plain.passed}/${r.plain.failed} | ${r.paragen.passed}/${r.paragen.failed} | ${r.bothFail.length} |`);
  }
  const total = (f: (r: SuiteComparison) => number) => rows.reduce((a, r) => a + f(r), 0);
  lines.push(
    `| total | ${total((r) => r.plain.passed)}/${total((r) => r.plain.failed)} | ` +
      `${total((r) => r.paragen.passed)}/${total((r) => r.paragen.failed)} | ${total((r) => r.bothFail.length)} |`,
  );
  const section = (title: string, items: string[]) => {
    if (items.length > 0) lines.push('', title, ...items.map((s) => `  - ${s}`));
  };
  section(
    'Fail on plain wasm and with paragen’s kernels:',
    rows.flatMap((r) => r.bothFail.map((s) => `${r.suite}: ${s.name} — ${explain(s.name) ?? `unexplained: ${s.message}`}`)),
  );
  section('Fail on plain wasm, pass with paragen’s kernels:', rows.flatMap((r) => r.fixed.map((n) => `${r.suite}: ${n}`)));
  section(
    'REGRESSIONS (pass on plain wasm, fail with paragen’s kernels):',
    rows.flatMap((r) => r.regressions.map((s) => `${r.suite}: ${s.name} — ${s.message}`)),
  );
  return lines.join('\n');
}
