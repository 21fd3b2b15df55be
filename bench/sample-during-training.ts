/**
 * Task parallelism: how much `--sample-every N` slows training. For each
 * strategy, the same run in three modes — no grids during training; grids
 * drawn inline by the generator's actor (how the run loop sampled before
 * grids became pool tasks); grids as tasks on their own pool thread (what
 * `train` does) — each `--repeats` times, the modes taking turns so that a
 * slow spell of the machine does not land on one mode. The figure is the
 * median steady samples/s of each (the summary's, warm-up excluded, grid
 * pauses included) and its slowdown against no grids.
 *
 *   npm run bench:sample-every [-- --model dcgan --batch-size 32 --steps 40 --every 4 --repeats 2 --strategies single,model --json]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMark, otherLoad } from '../src/bench/load.js';
import { createEngine, type Engine } from '../src/parallel/index.js';
import type { ModelName, StrategyChoice } from '../src/domain.js';
import { train } from '../src/run/trainer.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dcgan' },
    'batch-size': { type: 'string', default: '32' },
    steps: { type: 'string', default: '40' },
    every: { type: 'string', default: '4' },
    repeats: { type: 'string', default: '2' },
    strategies: { type: 'string', default: 'single,model' },
    json: { type: 'boolean', default: false },
  },
});
const model = values.model as ModelName;
const steps = Number(values.steps);
const every = Number(values.every);
const batchSize = Number(values['batch-size']);
const repeats = Number(values.repeats);

/** The engine without `networkWeights`: the run loop then samples through the actor, inline. */
function inline(engine: Engine): Engine {
  return new Proxy(engine, {
    get(target, key) {
      if (key === 'networkWeights') return undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const MODES = ['none', 'inline', 'task'] as const;
type Mode = (typeof MODES)[number];

/** One run's steady samples/s and the grids it wrote. */
async function once(strategy: StrategyChoice, mode: Mode, out: string): Promise<{ samplesPerSec: number; grids: number; otherCpu: number }> {
  const from = cpuMark();
  const run = train(
    { model, strategy, steps, batchSize, sampleEvery: mode === 'none' ? 0 : every, backend: 'wasm', out },
    mode === 'inline' ? { engine: async (config, dataset) => inline(await createEngine(config, dataset)) } : {},
  );
  let grids = 0;
  // A failure rejects `done` below; the stream's error is that same failure.
  run.events$.subscribe({ next: (e) => void (e.type === 'sample' && grids++), error: () => undefined });
  const { samplesPerSec } = await run.done;
  return { samplesPerSec, grids, otherCpu: otherLoad(from, cpuMark()) ?? 0 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const root = await mkdtemp(join(tmpdir(), 'paragen-sample-every-'));
const rows: { strategy: string; mode: Mode; samplesPerSec: number; runs: number[]; grids: number; slowdown: number }[] = [];
try {
  for (const strategy of values.strategies.split(',') as StrategyChoice[]) {
    const runs: Record<Mode, number[]> = { none: [], inline: [], task: [] };
    const grids: Record<Mode, number> = { none: 0, inline: 0, task: 0 };
    let busiest = 0;
    for (let r = 0; r < repeats; r++) {
      for (let m = 0; m < MODES.length; m++) {
        const mode = MODES[(m + r) % MODES.length]!;
        const result = await once(strategy, mode, join(root, `${strategy}-${mode}-${r}`));
        runs[mode].push(result.samplesPerSec);
        grids[mode] = result.grids;
        busiest = Math.max(busiest, result.otherCpu);
      }
    }
    const none = median(runs.none);
    // Other processes' CPU during the busiest run (Linux): above ~0.2 cores, these figures are not this machine's alone.
    if (!values.json) console.log(`${model} ${strategy}: other processes used at most ${busiest.toFixed(2)} cores during a run`);
    for (const mode of MODES) {
      const rate = median(runs[mode]);
      rows.push({ strategy, mode, samplesPerSec: rate, runs: runs[mode], grids: grids[mode], slowdown: 1 - rate / none });
      if (!values.json) {
        const slower = mode === 'none' ? '' : `  ${((1 - rate / none) * 100).toFixed(1)}% slower than without`;
        const each = runs[mode].map((x) => x.toFixed(1)).join(', ');
        console.log(`${model} ${strategy.padEnd(8)} ${mode.padEnd(6)} ${rate.toFixed(1).padStart(7)} samples/s (${each})  ${grids[mode]} grids${slower}`);
      }
    }
  }
  if (values.json) console.log(JSON.stringify({ model, batchSize, steps, every, repeats, rows }, null, 2));
} finally {
  await rm(root, { recursive: true, force: true });
}
