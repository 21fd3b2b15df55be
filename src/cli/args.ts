/**
 * A command's argv → settings, with `node:util` `parseArgs` configured from
 * the schema table. parseArgs runs non-strict with tokens so that every
 * problem is collected (strict mode throws at the first) and so that
 * `--batch-size -3` reaches validation as -3 instead of being refused as
 * "ambiguous".
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errors, type ParagenError } from '../errors.js';
import { expectedText, isValidValue, valueFromFlag } from '../run/config.js';
import { field, fieldsOf, type CommandName, type ConfigValues, type FieldName } from '../run/config-schema.js';
import { suggest } from '../run/suggest.js';

export interface ParsedArgs {
  readonly values: ConfigValues;
  /** `--config FILE`. */
  readonly configPath?: string;
  readonly help: boolean;
  readonly version: boolean;
  /** Every problem, in argv order. */
  readonly problems: ParagenError[];
}

/** Options that are not settings: they steer the CLI itself. */
const META_FLAGS = ['--help', '--version', '--config'];

/** The parseArgs option table for a command: one entry per schema field, plus the meta flags. */
export function parseArgsOptions(command: CommandName): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    config: { type: 'string' },
  };
  for (const name of fieldsOf(command)) {
    const spec = field(name);
    options[spec.flag.slice(2)] = { type: spec.kind === 'bool' ? 'boolean' : 'string' };
  }
  return options;
}

export function parseCommandArgs(command: CommandName, args: readonly string[]): ParsedArgs {
  const byFlag = new Map<string, FieldName>(fieldsOf(command).map((name) => [field(name).flag.slice(2), name]));
  const { tokens } = parseArgs({
    args: [...args],
    options: parseArgsOptions(command),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, unknown> = {};
  const problems: ParagenError[] = [];
  let configPath: string | undefined;
  let help = false;
  let version = false;
  // The index of an argument that is the value of an unknown option, not a stray positional.
  let swallow = -1;

  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (token.index !== swallow) problems.push(errors.unexpectedArgument(token.value, command));
      continue;
    }
    const { name, rawName, value, inlineValue } = token;
    if (name === 'help' || name === 'version') {
      if (name === 'help') help = true;
      else version = true;
      continue;
    }
    const fieldName = byFlag.get(name);
    if (fieldName === undefined && name !== 'config') {
      const flags = [...byFlag.keys()].map((f) => `--${f}`).concat(META_FLAGS);
      problems.push(errors.unknownOption(rawName, suggest(rawName, flags)));
      if (inlineValue !== true) swallow = token.index + 1;
      continue;
    }
    const isBool = fieldName !== undefined && field(fieldName).kind === 'bool';
    if (!isBool && (value === undefined || (!inlineValue && value.startsWith('--')))) {
      // `--lr --json`: parseArgs hands `--json` to --lr; almost surely a forgotten value.
      problems.push(errors.missingValue(rawName, value));
      continue;
    }
    if (fieldName === undefined) {
      configPath = value;
      continue;
    }
    const spec = field(fieldName);
    const typed = valueFromFlag(spec, value ?? true);
    if (isValidValue(spec, typed)) values[fieldName] = typed;
    else problems.push(errors.invalidValue(fieldName, expectedText(spec), typed));
  }
  return { values: values as ConfigValues, configPath, help, version, problems };
}
