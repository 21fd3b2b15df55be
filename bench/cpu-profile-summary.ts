/**
 * Summarises V8 CPU profiles, one per thread, by self time:
 *
 *   node --cpu-prof --cpu-prof-dir=prof dist/src/cli/main.js train --model vae-mlp \
 *     --strategy data --workers 2 --steps 400
 *   npm run bench:cpuprof -- prof [--top 15]
 *
 * Node writes a profile for the main thread and one for each worker thread.
 * For each it prints the total, the idle share (a worker waiting for a message
 * or for another replica at an all-reduce barrier), and the functions with the
 * most self time (wasm functions have no names in tfjs's release build).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' } },
});
const dir = positionals[0];
if (!dir) {
  console.error('usage: npm run bench:cpuprof -- DIR [--top N]   (DIR holds .cpuprofile files from node --cpu-prof)');
  process.exit(2);
}
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
if (files.length === 0) {
  console.error(`bench:cpuprof: no .cpuprofile files in ${dir}`);
  process.exit(2);
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = profile.timeDeltas[i]! / 1000;
    const frame = frames.get(id)!;
    const where = frame.url ? ` ${frame.url.split('/').pop()}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + ms);
    total += ms;
  });
  const idle = self.get('(idle)') ?? 0;
  console.log(`\n${file}: ${(total / 1000).toFixed(1)} s sampled, idle ${((100 * idle) / total).toFixed(1)}%`);
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [name, ms] of top) {
    console.log(`  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
}
