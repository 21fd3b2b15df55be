/**
 * `--help` text, generated from the schema table and the command table, so
 * the help lists exactly the flags the parser accepts.
 */
import {
  COMMANDS,
  field,
  fieldsOf,
  type CommandName,
  type FieldName,
  type FieldSpec,
} from '../run/config-schema.js';
import { EXIT } from '../errors.js';
import type { CommandTable } from './commands.js';

/** What `paragen --help` says about each exit code (the codes are `EXIT` in src/errors.ts). */
const EXIT_CODES: readonly (readonly [number, string])[] = [
  [EXIT.ok, 'done'],
  [EXIT.failure, 'failed (an actor out of restarts, a bad checkpoint, an internal error)'],
  [EXIT.usage, 'bad input: a flag, a value, a config file, a dataset'],
  [EXIT.nonFinite, 'a loss or gradient became NaN or Inf (--on-nan stop)'],
  [EXIT.locked, 'the run directory is locked by another live run'],
  [EXIT.fileSystem, 'the filesystem refused a write (no space, read-only, permission); the last good checkpoint is kept'],
  [EXIT.sigint, 'stopped by SIGINT (Ctrl-C), after a checkpoint'],
  [EXIT.sigterm, 'stopped by SIGTERM, after a checkpoint'],
];

const WIDTH = 100;
const COLUMN = 30;

/** How help writes a flag's value: `<n>`, `<x>`, `<stop|skip>`, `<n,…>`. */
export function placeholder(spec: FieldSpec): string {
  switch (spec.kind) {
    case 'int':
      return '<n>';
    case 'number':
      return '<x>';
    case 'string':
      return spec.placeholder ?? '<value>';
    case 'enum':
      return `<${spec.values.join('|')}>`;
    case 'bool':
      return '';
    case 'intList':
      return '<n,…>';
    case 'enumList':
      return `<${spec.values.join('|')},…>`;
  }
}

/** The default as help shows it, or undefined when there is nothing worth saying. */
export function defaultText(name: FieldName, command: CommandName): string | undefined {
  const spec = field(name);
  if (spec.defaultFor?.[command] !== undefined) return spec.defaultFor[command];
  if (spec.defaultText !== undefined) return spec.defaultText;
  if ('byFamily' in spec && spec.byFamily) {
    const models = Object.entries(('byModel' in spec && spec.byModel) || {}).map(([m, v]) => ` (${v} for ${m})`).join('');
    return `${spec.byFamily.gan} for GANs${models}, ${spec.byFamily.vae} for VAEs`;
  }
  if (spec.kind === 'bool' || spec.default === undefined) return undefined;
  return Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
}

/** Word-wraps `text` to WIDTH, indenting continuation lines by `indent` spaces. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function row(left: string, right: string): string {
  const head = `  ${left}`;
  const body = wrap(right, COLUMN);
  return head.length < COLUMN ? `${head.padEnd(COLUMN)}${body}` : `${head}\n${' '.repeat(COLUMN)}${body}`;
}

/** `paragen <command> --help`. */
export function commandHelp(commands: CommandTable, command: CommandName): string {
  const spec = commands[command];
  const options = fieldsOf(command).map((name) => {
    const f = field(name);
    const value = placeholder(f);
    const fallback = spec.cliDefaults?.[name] ?? defaultText(name, command);
    const help = f.helpFor?.[command] ?? f.help;
    const required = f.required?.includes(command) || spec.cliRequired?.includes(name);
    const note = required ? ' (required)' : fallback === undefined ? '' : ` (default: ${fallback})`;
    return row(`${f.flag}${value ? ` ${value}` : ''}`, `${help}${note}`);
  });
  return [
    `Usage: paragen ${command} [options]`,
    '',
    wrap(spec.description, 0),
    '',
    'Options:',
    ...options,
    row('--config <file>', 'read settings from a .json or .yaml file (keys in camelCase: batchSize); flags override it'),
    row('-h, --help', 'show this help'),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** `paragen --help`. */
export function globalHelp(commands: CommandTable, version: string): string {
  return [
    `paragen ${version}: train GANs and VAEs in Node.js on a worker-thread pool`,
    '',
    'Usage: paragen <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((name) => row(name, commands[name].summary)),
    '',
    'Options:',
    row('-h, --help', "show help; 'paragen <command> --help' for a command's options"),
    row('--version', 'print the version'),
    '',
    'Examples:',
    ...COMMANDS.map((name) => `  ${commands[name].examples[0]}`),
    '',
    'Output: progress and errors for people on stderr; results, and with --json one JSON object per line, on stdout.',
    '',
    'Exit codes:',
    ...EXIT_CODES.map(([code, meaning]) => row(String(code), meaning)),
    '',
  ].join('\n');
}
