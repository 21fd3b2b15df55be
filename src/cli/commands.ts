/**
 * The `paragen` commands: what `--help` says about each, and where its handler
 * lives. Handlers are imported only when their command runs (`load`), so
 * `paragen --help` never loads TensorFlow.js or the worker pool.
 */
import type { CommandConfig, CommandName } from '../run/config-schema.js';
import type { CliIo } from './io.js';

/** A command's body: gets the validated settings, returns the exit code. */
export type CommandHandler<C extends CommandName> = (config: CommandConfig<C>, io: CliIo) => Promise<number>;

export interface CommandSpec<C extends CommandName> {
  readonly name: C;
  /** One line for the command list. */
  readonly summary: string;
  /** A paragraph for the command's own help. */
  readonly description: string;
  readonly examples: readonly string[];
  readonly load: () => Promise<CommandHandler<C>>;
}

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
    load: async () => (await import('./commands/bench.js')).benchCommand,
  },
  info: {
    name: 'info',
    summary: 'show the backends and the machine paragen sees',
    description: 'Reports the versions, the cores, and which backends load here, and why the others do not.',
    examples: ['paragen info', 'paragen info --json'],
    load: async () => (await import('./commands/info.js')).infoCommand,
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
