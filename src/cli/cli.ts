/**
 * The `paragen` command line: argv → a command and its validated settings,
 * then the command's lazily imported handler. `createCli` is exported so the
 * parser is tested without spawning a process.
 *
 * Exit codes: `EXIT` in src/errors.ts — 0 success, 2 usage errors (bad
 * flags, values, files), the `exitCode` of any other `ParagenError`, 1 for an
 * internal error. Errors go to stderr as lines; with `--json`, also to stdout
 * as one JSON object, so a program reading stdout sees how the command ended.
 */
import { combine, errors, ParagenError } from '../errors.js';
import { loadConfigFile, mergeConfig, parseConfig, validateValues } from '../run/config.js';
import { COMMANDS, type CommandConfig, type CommandName, type ConfigValues } from '../run/config-schema.js';
import { withResumedRun } from '../run/run-dir.js';
import { suggest } from '../run/suggest.js';
import { parseCommandArgs } from './args.js';
import { COMMAND_SPECS, type CommandHandler, type CommandTable } from './commands.js';
import { withFlagNames } from './flag-names.js';
import { commandHelp, globalHelp } from './help.js';
import type { CliIo } from './io.js';
import { packageVersion } from './version.js';

/** What an argv asks for. */
export type Invocation =
  | { readonly kind: 'help'; readonly text: string; readonly exitCode: 0 | 2 }
  | { readonly kind: 'version'; readonly text: string }
  | { [C in CommandName]: { readonly kind: 'command'; readonly command: C; readonly config: CommandConfig<C> } }[CommandName];

export interface CliOptions {
  /** Replaces the command table (tests inject handlers). */
  readonly commands?: CommandTable;
  readonly version?: string;
}

export interface Cli {
  /** Parses argv (without `node` and the script), loading `--config` files; throws a `ParagenError` listing every problem. */
  parse(argv: readonly string[]): Promise<Invocation>;
  /** Parses and runs; resolves with the exit code and never rejects. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

export function createCli(options: CliOptions = {}): Cli {
  const commands = options.commands ?? COMMAND_SPECS;
  const version = () => options.version ?? packageVersion();

  async function parseCommand(command: CommandName, args: readonly string[]): Promise<Invocation> {
    const parsed = parseCommandArgs(command, args);
    if (parsed.help) return { kind: 'help', text: commandHelp(commands, command), exitCode: 0 };
    if (parsed.version) return { kind: 'version', text: `${version()}\n` };
    const problems = [...parsed.problems];
    let fileValues: ConfigValues = {};
    if (parsed.configPath !== undefined) {
      try {
        fileValues = await loadConfigFile(parsed.configPath);
        // A file may hold keys of other commands (one run.yaml for train and bench); name the file if so.
        problems.push(...validateValues(fileValues, { file: parsed.configPath }, command).problems);
      } catch (error) {
        if (!(error instanceof ParagenError)) throw error;
        problems.push(error);
      }
    }
    if (problems.length > 0) throw combine(problems);
    // A --config file, overridden by flags; with `--resume DIR`, both over the run's own config.json.
    const given = mergeConfig(fileValues, parsed.values);
    const config = parseConfig(command === 'train' ? await withResumedRun(given) : given, 'flags', command);
    return { kind: 'command', command, config } as Invocation;
  }

  async function parse(argv: readonly string[]): Promise<Invocation> {
    const [first, ...rest] = argv;
    if (first === undefined) return { kind: 'help', text: globalHelp(commands, version()), exitCode: 2 };
    if (first === '--help' || first === '-h') return { kind: 'help', text: globalHelp(commands, version()), exitCode: 0 };
    if (first === '--version') return { kind: 'version', text: `${version()}\n` };
    if (first === 'help') {
      const topic = rest[0];
      if (topic === undefined) return { kind: 'help', text: globalHelp(commands, version()), exitCode: 0 };
      if (isCommand(topic)) return { kind: 'help', text: commandHelp(commands, topic), exitCode: 0 };
      throw errors.unknownCommand(topic, suggest(topic, COMMANDS));
    }
    if (first.startsWith('-')) throw errors.unknownOption(first, suggest(first, ['--help', '--version']));
    if (!isCommand(first)) throw errors.unknownCommand(first, suggest(first, COMMANDS));
    return parseCommand(first, rest);
  }

  async function run(argv: readonly string[], io: CliIo): Promise<number> {
    try {
      const invocation = await parse(argv);
      switch (invocation.kind) {
        case 'help':
          (invocation.exitCode === 0 ? io.stdout : io.stderr)(invocation.text);
          return invocation.exitCode;
        case 'version':
          io.stdout(invocation.text);
          return 0;
        case 'command': {
          // The union of handler types collapses to an intersection of parameters; the pair was checked by parse.
          const handler = (await commands[invocation.command].load()) as CommandHandler<CommandName>;
          return await handler(invocation.config as never, io);
        }
      }
    } catch (error) {
      return report(error, io, argv);
    }
  }

  function report(error: unknown, io: CliIo, argv: readonly string[]): number {
    const command = argv[0] !== undefined && isCommand(argv[0]) ? argv[0] : undefined;
    const json = argv.some((arg) => arg === '--json' || arg === '--json=true');
    if (error instanceof ParagenError) {
      const shown = command && error.code === 'INVALID_VALUE' ? withFlagNames(error, command) : error;
      io.stderr(`${shown.message}\n`);
      if (json) io.stdout(`${JSON.stringify(jsonError(shown.code, shown.message, shown.exitCode))}\n`);
      return shown.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (json) io.stdout(`${JSON.stringify(jsonError('INTERNAL', `internal error: ${message}`, 1))}\n`);
    io.stderr(`internal error: ${message}\n`);
    if (io.env.PARAGEN_DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    let v = 'unknown';
    try {
      v = version();
    } catch (versionError) {
      v = `unknown (${(versionError as Error).message})`;
    }
    io.stderr(
      `This is a bug in paragen ${v}. Please file an issue with the command you ran and this output ` +
        '(PARAGEN_DEBUG=1 adds the stack trace).\n',
    );
    return 1;
  }

  return { parse, run };
}

/** The JSON form of an error on stdout: the shape of a run's `error` event, with every problem and the exit code. */
function jsonError(code: string, message: string, exitCode: number) {
  return { type: 'error', code, message, problems: message.split('\n'), exitCode } as const;
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/** Runs `paragen` with `argv` (without `node` and the script); resolves with the exit code. */
export function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  return createCli().run(argv, io);
}
