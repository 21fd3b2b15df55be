import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCli, runCli } from '../../src/cli/cli.js';
import { COMMAND_SPECS, type CommandHandler, type CommandTable } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';
import { errors, ParagenError } from '../../src/errors.js';
import { parseConfig, serializeConfig } from '../../src/run/config.js';
import { COMMANDS, field, fieldsOf, type CommandName } from '../../src/run/config-schema.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function capture(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env, isTTY: false };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

/** A command table whose handlers are spies: records what they were given, never loads the real modules. */
function fakeCommands(handler: CommandHandler<CommandName> = async () => 0) {
  const calls: { command: CommandName; config: unknown }[] = [];
  const loads = vi.fn();
  const commands = Object.fromEntries(
    COMMANDS.map((name) => [
      name,
      {
        ...COMMAND_SPECS[name],
        load: async () => {
          loads(name);
          return async (config: unknown, io: CliIo) => {
            calls.push({ command: name, config });
            return handler(config as never, io);
          };
        },
      },
    ]),
  ) as unknown as CommandTable;
  return { commands, calls, loads };
}

async function usage(argv: string[]): Promise<string> {
  const { commands, loads } = fakeCommands();
  const { io, stderr, stdout } = capture();
  expect(await createCli({ commands }).run(argv, io)).toBe(2);
  // With --json the error is also one JSON object on stdout, for the program reading it.
  if (argv.includes('--json')) {
    const message = stderr().replace(/\n$/, '');
    expect(JSON.parse(stdout())).toEqual({ type: 'error', code: 'INVALID_VALUE', message, problems: message.split('\n'), exitCode: 2 });
  } else {
    expect(stdout()).toBe('');
  }
  expect(loads).not.toHaveBeenCalled();
  return stderr();
}

describe('help and version', () => {
  it('prints the version from package.json, globally and under a command', async () => {
    for (const argv of [['--version'], ['train', '--version']]) {
      const { io, stdout } = capture();
      expect(await runCli(argv, io)).toBe(0);
      expect(stdout()).toBe(`${pkg.version}\n`);
    }
  });

  it('prints the global help without loading any command', async () => {
    const { commands, loads } = fakeCommands();
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const { io, stdout } = capture();
      expect(await createCli({ commands }).run(argv, io)).toBe(0);
      expect(stdout()).toContain('Usage: paragen <command> [options]');
      for (const name of COMMANDS) expect(stdout()).toContain(`  ${name.padEnd(28)}${COMMAND_SPECS[name].summary}`);
    }
    expect(loads).not.toHaveBeenCalled();
  });

  it('prints the global help on stderr with exit code 2 when no command is given', async () => {
    expect(await usage([])).toContain('Usage: paragen <command> [options]');
  });

  it("lists every flag of a command's schema fields, with defaults and examples", async () => {
    const { commands, loads } = fakeCommands();
    for (const name of COMMANDS) {
      for (const argv of [[name, '--help'], [name, '-h'], ['help', name], [name, '--bogus', '--help']]) {
        const { io, stdout } = capture();
        expect(await createCli({ commands }).run(argv, io)).toBe(0);
        const help = stdout();
        expect(help).toContain(`Usage: paragen ${name} [options]`);
        for (const f of fieldsOf(name)) expect(help).toContain(`  ${field(f).flag}`);
        for (const example of COMMAND_SPECS[name].examples) expect(help).toContain(`  ${example}\n`);
      }
    }
    expect(loads).not.toHaveBeenCalled();
    const { io, stdout: raw } = capture();
    await runCli(['train', '--help'], io);
    for (const line of raw().split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    // Descriptions wrap; join continuation lines to match each option's whole text.
    const stdout = () => raw().replace(/\n {30}/g, ' ');
    expect(stdout()).toMatch(/ {2}--batch-size <n> +examples per optimizer step .*\(default: 64 for GANs \(32 for dcgan-small\), 128 for VAEs\)/);
    expect(stdout()).toMatch(/ {2}--model <dcgan\|dcgan-small\|vae-mlp\|vae-conv> network to train \(default: dcgan-small\)/);
    expect(stdout()).toMatch(/ {2}--out <path> +run directory \(default: runs\/<model>-<YYYYMMDD-HHMMSS>\)/);
    expect(stdout()).toMatch(/ {2}--epochs <n> +.*\(default: 2 when --steps is not given\)/);
    expect(stdout()).toContain('  --config <file>');
    const sample = capture();
    await runCli(['sample', '--help'], sample.io);
    expect(sample.stdout()).toMatch(/ {2}--run <dir> +run directory to read the trained networks from \(required\)\n/);
    expect(sample.stdout()).toMatch(/ {2}--workers <n> +workers that generate in parallel\n/);
  });
});

describe('usage errors: one line per problem on stderr, exit code 2', () => {
  it('rejects an unknown command or option, suggesting a near one', async () => {
    expect(await usage(['trian'])).toBe("unknown command 'trian' (did you mean 'train'?)\n");
    expect(await usage(['help', 'smaple'])).toBe("unknown command 'smaple' (did you mean 'sample'?)\n");
    expect(await usage(['--verison'])).toBe("unknown option '--verison' (did you mean '--version'?)\n");
    expect(await usage(['train', '--modle', 'dcgan'])).toBe("unknown option '--modle' (did you mean '--model'?)\n");
    expect(await usage(['train', '--batchsize=3'])).toBe("unknown option '--batchsize' (did you mean '--batch-size'?)\n");
    expect(await usage(['train', '-x'])).toBe("unknown option '-x'\n");
    expect(await usage(['train', '--n', '4'])).toBe("unknown option '--n'\n");
  });

  it('validates values with the schema, all problems at once, in argv order', async () => {
    // Flags named as typed; the API and config files say batchSize (test/run/config.test.ts).
    expect(await usage(['train', '--batch-size', '-3'])).toBe('--batch-size must be a positive integer, got -3\n');
    expect(await usage(['train', '--batch-size', 'abc', '--lr', '0', '--model', 'dcgn', 'extra'])).toBe(
      [
        "--batch-size must be a positive integer, got 'abc'",
        '--lr must be a positive number, got 0',
        "--model must be one of 'dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv', got 'dcgn'",
        "unexpected argument 'extra' (paragen train takes options only)",
        '',
      ].join('\n'),
    );
    expect(await usage(['train', '--json=maybe'])).toBe("--json must be true or false, got 'maybe'\n");
    expect(await usage(['train', '--fault', 'boom'])).toBe(
      "--fault must be 'crash:<actor>@<step>' with <actor> one of dataLoader, generator, discriminator, encoder, decoder, got 'boom'\n",
    );
    expect(await usage(['bench', '--workers', '1,x'])).toBe(
      "--workers must be a non-empty list of positive integers, got '1,x'\n",
    );
    expect(await usage(['bench', '--strategies', 'single,auto'])).toBe(
      "--strategies must be a non-empty list of 'single', 'data', 'model', 'pipeline', got [\"single\",\"auto\"]\n",
    );
    expect(await usage(['train', '--microbatches', '64', '--batch-size', '32', '--strategy', 'pipeline', '--workers', '2'])).toBe(
      '--microbatches must be at most --batch-size (32), got 64\n',
    );
    expect(await usage(['train', '--batch-size', '-3', '--json'])).toBe('--batch-size must be a positive integer, got -3\n');
  });

  it('reports a missing value, including a value swallowed by the next flag', async () => {
    expect(await usage(['train', '--lr'])).toBe("option '--lr' needs a value\n");
    expect(await usage(['train', '--lr', '--json'])).toBe("option '--lr' needs a value, got '--json'\n");
    expect(await usage(['train', '--config'])).toBe("option '--config' needs a value\n");
  });

  it('reports contradictions and missing required options', async () => {
    expect(await usage(['train', '--epochs', '2', '--steps', '3'])).toBe(
      '--epochs and --steps cannot both be set, got --epochs 2 and --steps 3\n',
    );
    expect(await usage(['train', '--strategy', 'single', '--workers', '2'])).toBe(
      "--workers must be 1 for strategy 'single' (every actor on one worker), got 2\n",
    );
    expect(await usage(['sample'])).toBe('--run <dir> is required\n');
  });
});

describe('settings reach the handler', () => {
  it('parses flags into the typed config, defaults filled in', async () => {
    const cli = createCli({ commands: fakeCommands().commands });
    const invocation = await cli.parse(['train', '--model', 'vae-mlp', '--steps', '30', '--json', '--seed', '7']);
    expect(invocation.kind).toBe('command');
    if (invocation.kind !== 'command' || invocation.command !== 'train') throw new Error('expected train');
    expect(invocation.config).toMatchObject({ model: 'vae-mlp', steps: 30, json: true, seed: 7, lr: 1e-3, beta1: 0.9 });
    expect(invocation.config.epochs).toBeUndefined();
    const bench = await cli.parse(['bench', '--workers', '1,2,4', '--models', 'vae-mlp', '--quick', '--json=false']);
    expect(bench).toMatchObject({ command: 'bench', config: { workerCounts: [1, 2, 4], models: ['vae-mlp'], quick: true, json: false } });
    const sample = await cli.parse(['sample', '--run=runs/a', '--n', '16', '--workers', '2']);
    expect(sample).toEqual({
      kind: 'command',
      command: 'sample',
      config: { run: 'runs/a', n: 16, workers: 2, seed: 0, backend: 'auto', json: false },
    });
  });

  it('runs the handler with the config and io, and exits with its code', async () => {
    const { commands, calls } = fakeCommands(async (_config, io) => {
      io.stdout('trained\n');
      return 0;
    });
    const { io, stdout } = capture();
    expect(await createCli({ commands }).run(['train', '--steps', '3'], io)).toBe(0);
    expect(stdout()).toBe('trained\n');
    expect(calls).toEqual([{ command: 'train', config: expect.objectContaining({ steps: 3, model: 'dcgan-small' }) }]);
  });

  describe('--config', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'paragen-cli-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads a YAML or JSON file, flags overriding it', async () => {
      const yaml = join(dir, 'run.yaml');
      await writeFile(yaml, 'model: vae-mlp\nepochs: 10\nlr: 0.0005\n');
      const cli = createCli({ commands: fakeCommands().commands });
      expect(await cli.parse(['train', '--config', yaml, '--steps', '5'])).toMatchObject({
        config: { model: 'vae-mlp', steps: 5, lr: 5e-4 },
      });
      const json = join(dir, 'run.json');
      await writeFile(json, JSON.stringify({ model: 'dcgan', seed: 3 }));
      expect(await cli.parse(['train', `--config=${json}`, '--seed', '4'])).toMatchObject({
        config: { model: 'dcgan', seed: 4, epochs: 2 },
      });
    });

    it("reports the file's problems, named, together with the flags' problems", async () => {
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'batchSize: 0\nmodle: dcgan\nmodels: [dcgan]\n');
      expect(await usage(['train', '--config', bad, '--lr', '-1'])).toBe(
        [
          '--lr must be a positive number, got -1',
          `${bad}: batchSize must be a positive integer, got 0`,
          `${bad}: unknown key 'modle' (did you mean 'model'?)`,
          '',
        ].join('\n'),
      );
      const other = join(dir, 'bench.yaml');
      await writeFile(other, 'models: [dcgan]\n');
      expect(await usage(['train', '--config', other])).toBe(`${other}: key 'models' does not apply to train\n`);
      expect(await usage(['train', '--config', join(dir, 'none.json')])).toBe(
        `${join(dir, 'none.json')}: cannot read: no such file\n`,
      );
    });

    it("--resume continues with the run's config.json, except per-invocation fields; flags override it", async () => {
      const runDir = join(dir, 'run-a');
      await mkdir(runDir);
      const saved = parseConfig({ model: 'vae-mlp', epochs: 3, lr: 5e-4, seed: 9, json: true, fault: 'crash:encoder@5' });
      await writeFile(join(runDir, 'config.json'), serializeConfig(saved));
      const cli = createCli({ commands: fakeCommands().commands });
      const resumed = await cli.parse(['train', '--resume', runDir]);
      expect(resumed).toEqual({
        kind: 'command',
        command: 'train',
        config: { ...saved, json: false, fault: undefined, resume: runDir },
      });
      expect(await cli.parse(['train', '--resume', runDir, '--steps', '2000', '--json'])).toMatchObject({
        config: { model: 'vae-mlp', steps: 2000, lr: 5e-4, seed: 9, json: true, resume: runDir },
      });
      expect(await usage(['train', '--resume', join(dir, 'nothing')])).toBe(
        `${join(dir, 'nothing')}: not a run directory (no config.json)\n`,
      );
      await writeFile(join(runDir, 'config.json'), '{"batchSize": 0}');
      expect(await usage(['train', '--resume', runDir])).toBe(
        `${join(runDir, 'config.json')}: batchSize must be a positive integer, got 0\n`,
      );
    });
  });
});

describe('errors from handlers', () => {
  it('says that a command is not built yet, loading it lazily', async () => {
    // Every command is built now; a handler that says otherwise stands in for the next one that is not.
    const { commands, loads } = fakeCommands(async () => {
      throw errors.notBuilt('bench');
    });
    const { io, stderr, stdout } = capture();
    expect(await createCli({ commands }).run(['bench'], io)).toBe(1);
    expect(loads).toHaveBeenCalledWith('bench');
    expect(stderr()).toBe('paragen bench is not built yet\n');
    expect(stdout()).toBe('');
  });

  it("prints a ParagenError's lines and exits with its code, without a stack", async () => {
    const failure = new ParagenError('CHECKPOINT', 'first problem\nsecond problem', 3);
    const { commands } = fakeCommands(async () => {
      throw failure;
    });
    const { io, stderr } = capture();
    expect(await createCli({ commands }).run(['info'], io)).toBe(3);
    expect(stderr()).toBe('first problem\nsecond problem\n');
    const locked = fakeCommands(async () => {
      throw errors.runLocked('runs/a', 42);
    });
    const second = capture();
    expect(await createCli({ commands: locked.commands }).run(['info'], second.io)).toBe(4);
    expect(second.stderr()).toBe('run directory runs/a is being written by live process 42\n');
  });

  it('reports any other error as an internal error with a hint, the stack only with PARAGEN_DEBUG', async () => {
    const { commands } = fakeCommands(async () => {
      throw new TypeError('boom');
    });
    const plain = capture();
    expect(await createCli({ commands, version: '9.9.9' }).run(['info'], plain.io)).toBe(1);
    expect(plain.stderr()).toBe(
      'internal error: boom\n' +
        'This is a bug in paragen 9.9.9. Please file an issue with the command you ran and this output ' +
        '(PARAGEN_DEBUG=1 adds the stack trace).\n',
    );
    const debug = capture({ PARAGEN_DEBUG: '1' });
    expect(await createCli({ commands, version: '9.9.9' }).run(['info'], debug.io)).toBe(1);
    expect(debug.stderr()).toMatch(/^internal error: boom\nTypeError: boom\n {4}at /);
  });
});
