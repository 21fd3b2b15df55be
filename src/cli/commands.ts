/**
 * The `paragen` commands: what `--help` says about each, and where its handler
 * lives. Handlers are imported only when their command runs (`load`), so
 * `paragen --help` never loads TensorFlow.js or the worker pool.
 */
import type { CommandName } from '../run/config-schema.js';
import { DEFAULT_BENCH_OUT, type CommandSpec } from './command.js';

export type { CommandHandler, CommandSpec } from './command.js';
export { DEFAULT_BENCH_OUT };

export type CommandTable = { readonly [C in CommandName]: CommandSpec<C> };

export const COMMAND_SPECS: CommandTable = {
  train: {
    name: 'train',
    summary: 'train a GAN or VAE and write a run directory',
    description:
      'Trains a model on the actor runtime and writes a run directory: config.json, metrics.jsonl, ' +
      'checkpoints/<step>/, samples/<step>.png and summary.json. Ctrl-C writes a checkpoint and stops; ' +
      '--resume continues from the last good checkpoint.',
    examples: [
      'paragen train',
      'paragen train --model vae-mlp --epochs 10 --batch-size 128',
      'paragen train --strategy model --workers 2 --steps 500 --json > events.jsonl',
      'paragen train --config run.yaml --lr 1e-4',
      'paragen train --resume runs/dcgan-small-20250101-120000',
    ],
    load: async () => (await import('./commands/train.js')).trainCommand,
  },
  sample: {
    name: 'sample',
    summary: 'generate images from a trained run',
    description:
      "Draws images from a run's generator (GAN) or from the prior through its decoder (VAE), " +
      'as a .png grid or a .npy array.',
    examples: [
      'paragen sample --run runs/dcgan-small-20250101-120000 --n 64 --out grid.png',
      'paragen sample --run runs/vae-mlp-20250101-120000 --n 10000 --seed 1 --out samples.npy --workers 2',
    ],
    cliRequired: ['out'],
    load: async () => (await import('./commands/sample.js')).sampleCommand,
  },
  eval: {
    name: 'eval',
    summary: 'score a trained run (negative ELBO, or inception score and FID)',
    description:
      'For a VAE: the mean negative ELBO per test image, in nats. For a GAN: inception score and FID ' +
      'of 10,000 samples against the test set, with an MNIST classifier trained once and cached.',
    examples: ['paragen eval --run runs/vae-mlp-20250101-120000 --json'],
    load: async () => (await import('./commands/eval.js')).evalCommand,
  },
  bench: {
    name: 'bench',
    summary: 'measure training throughput by model, strategy and worker count',
    description:
      'For each combination: a warm-up, then the median samples/s of several windows, beside plain ' +
      "TensorFlow.js baselines and the machine's wasm matMul peak. Writes bench.json, a report and a chart.",
    examples: ['paragen bench --quick', 'paragen bench --models vae-mlp --strategies single,data --workers 1,2,4'],
    cliDefaults: { out: DEFAULT_BENCH_OUT },
    load: async () => (await import('./commands/bench.js')).benchCommand,
  },
  info: {
    name: 'info',
    summary: 'show the backends and the machine paragen sees',
    description: 'Reports the versions, the cores, and which backends load here, and why the others do not.',
    examples: ['paragen info', 'paragen info --json'],
    load: async () => (await import('./commands/info.js')).infoCommand,
  },
  serve: {
    name: 'serve',
    summary: "serve a trained run's generator over HTTP",
    description:
      "Loads the run's newest good checkpoint onto --workers threads and answers GET/POST /v1/samples " +
      '(png, npy or json), POST /v1/reconstruct (VAEs), /healthz, /readyz and /metrics (Prometheus). ' +
      'Concurrent requests are batched; a full queue answers 503 with Retry-After; SIGTERM drains and exits 0.',
    examples: [
      'paragen serve --run runs/dcgan-small-20250101-120000 --port 8080',
      'paragen serve --run runs/vae-mlp-20250101-120000 --host 0.0.0.0 --workers 2 --token s3cret --watch',
    ],
    load: async () => (await import('./commands/serve.js')).serveCommand,
  },
  dashboard: {
    name: 'dashboard',
    summary: 'watch runs in the browser: loss curves, samples, live',
    description:
      'Serves a page listing the runs in --runs (model, strategy, backend, steps, state, last losses), a page per run ' +
      '(loss curves by step and wall time, samples/s, the sample grids, checkpoints, config) that follows a running ' +
      'run live, and a page charting bench.json files.',
    examples: ['paragen dashboard --runs runs --port 8081'],
    load: async () => (await import('./commands/dashboard.js')).dashboardCommand,
  },
  worker: {
    name: 'worker',
    summary: 'host actors for cluster runs: join a NATS server and wait',
    description:
      'Registers this machine with the NATS server as a paragen worker (name, tensor address, backend, cores, ' +
      'version) and stays up across runs, sending a heartbeat. Tensors travel over direct TCP on --advertise/--listen, ' +
      'never through NATS. SIGTERM or Ctrl-C drains it and deregisters it.',
    examples: [
      'paragen worker --connect nats://10.0.0.1:4222 --name w1 --advertise 10.0.0.5:7000',
      'paragen worker --connect tls://nats.internal:4222 --nats-creds w.creds --tls-ca ca.pem --listen 0.0.0.0:7000 --advertise 10.0.0.5:7000',
    ],
    load: async () => (await import('./commands/worker.js')).workerCommand,
  },
};
