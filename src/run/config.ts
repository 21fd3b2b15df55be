/**
 * Validation of settings against the schema table in `config-schema.ts`: one
 * code path for the Node API, CLI flags, config files and `config.json`.
 * Every problem of one input is collected and reported together, one per line.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { combine, errors, ParagenError } from '../errors.js';
import { planStrategy } from '../parallel/strategy.js';
import { FAMILY_ACTORS, modelFamily, parseFault, type ModelName } from '../domain.js';
import { DEFAULT_EPOCHS, FIELD_NAMES, FIELDS, field, fieldsOf, modelDefault, type CommandConfig, type CommandName, type ConfigValues, type FieldName, type FieldSpec, type RunConfig } from './config-schema.js';
import { suggest } from './suggest.js';

/** Where settings came from; file problems are prefixed with the file's path. */
export type ConfigSource = 'api' | 'flags' | { readonly file: string };

/** The phrase after "must be" in an error message for this field. */
export function expectedText(spec: FieldSpec): string {
  switch (spec.kind) {
    case 'int':
      if (spec.max !== undefined) return `an integer from ${spec.min ?? '-∞'} to ${spec.max}`;
      if (spec.min === 1) return 'a positive integer';
      if (spec.min === 0) return 'a non-negative integer';
      return spec.min === undefined ? 'an integer' : `an integer >= ${spec.min}`;
    case 'number':
      if (spec.min !== undefined && spec.below !== undefined) return `a number in [${spec.min}, ${spec.below})`;
      if (spec.above === 0 && spec.below === undefined) return 'a positive number';
      return 'a finite number';
    case 'string':
      return spec.format?.expected ?? 'a non-empty string';
    case 'enum':
      return `one of ${quoteAll(spec.values)}`;
    case 'bool':
      return 'true or false';
    case 'intList':
      return spec.min === 1 ? 'a non-empty list of positive integers' : 'a non-empty list of integers';
    case 'enumList':
      return `a non-empty list of ${quoteAll(spec.values)}`;
  }
}

const quoteAll = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

function isInt(spec: { min?: number; max?: number }, v: unknown): v is number {
  return (
    typeof v === 'number' &&
    Number.isInteger(v) &&
    (spec.min === undefined || v >= spec.min) &&
    (spec.max === undefined || v <= spec.max)
  );
}

/** Whether `value` is a valid value of the field (exact types: a config file's `"128"` is not 128). */
export function isValidValue(spec: FieldSpec, value: unknown): boolean {
  switch (spec.kind) {
    case 'int':
      return isInt(spec, value);
    case 'number':
      return (
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (spec.min === undefined || value >= spec.min) &&
        (spec.above === undefined || value > spec.above) &&
        (spec.below === undefined || value < spec.below)
      );
    case 'string':
      return typeof value === 'string' && value.length > 0 && (spec.format?.test(value) ?? true);
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'intList':
      return Array.isArray(value) && value.length > 0 && value.every((v) => isInt(spec, v));
    case 'enumList':
      return (
        Array.isArray(value) &&
        value.length > 0 &&
        value.every((v) => typeof v === 'string' && spec.values.includes(v))
      );
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Turns a CLI flag's text into the field's type. Text that does not parse is
 * returned unchanged, so validation quotes exactly what the user typed.
 */
export function valueFromFlag(spec: FieldSpec, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  switch (spec.kind) {
    case 'int':
    case 'number':
      return NUMBER.test(raw.trim()) ? Number(raw) : raw;
    case 'bool':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'intList': {
      const parts = raw.split(',').map((p) => p.trim());
      return parts.every((p) => NUMBER.test(p)) ? parts.map(Number) : raw;
    }
    case 'enumList':
      return raw.split(',').map((p) => p.trim());
    default:
      return raw;
  }
}

function inSource(source: ConfigSource, problem: ParagenError): ParagenError {
  if (typeof source === 'string') return problem;
  return new ParagenError(problem.code, `${source.file}: ${problem.message}`, problem.exitCode);
}

function isPlainObject(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/**
 * Checks each key and value on its own (no defaults, no cross-field rules):
 * what a config file or a set of flags holds before they are merged.
 * With `command`, keys the command does not use are problems too.
 */
export function validateValues(
  input: unknown,
  source: ConfigSource,
  command?: CommandName,
): { values: ConfigValues; problems: ParagenError[] } {
  const values: Record<string, unknown> = {};
  const problems: ParagenError[] = [];
  if (!isPlainObject(input)) {
    problems.push(errors.invalidValue('config', 'an object of settings', input));
    return { values, problems: problems.map((p) => inSource(source, p)) };
  }
  const known = command ? fieldsOf(command) : FIELD_NAMES;
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(FIELDS, key)) {
      problems.push(errors.unknownKey(key, suggest(key, known) ?? suggest(key, FIELD_NAMES)));
      continue;
    }
    const name = key as FieldName;
    if (command && !known.includes(name)) {
      problems.push(errors.notApplicable(key, command));
      continue;
    }
    const spec = field(name);
    if (!isValidValue(spec, value)) {
      problems.push(errors.invalidValue(key, expectedText(spec), value));
      continue;
    }
    values[key] = Array.isArray(value) ? [...value] : value;
  }
  return { values: values as ConfigValues, problems: problems.map((p) => inSource(source, p)) };
}

/** Rules that involve several fields; only called with individually valid values. */
function crossFieldProblems(values: ConfigValues, command: CommandName): ParagenError[] {
  const problems: ParagenError[] = [];
  const fields = fieldsOf(command);
  for (const name of fields) {
    const spec = field(name);
    if (spec.required?.includes(command) && values[name] === undefined) {
      problems.push(errors.missing(name, `${spec.flag} ${spec.placeholder ?? '<value>'}`));
    }
  }
  const groups = new Map<string, FieldName[]>();
  for (const name of fields) {
    const group = field(name).exclusive;
    if (group && values[name] !== undefined) groups.set(group, [...(groups.get(group) ?? []), name]);
  }
  for (const [a, b] of groups.values()) {
    if (a && b) problems.push(errors.conflict(a, values[a], b, values[b]));
  }
  if (command !== 'train') return problems;

  const model: ModelName = values.model ?? FIELDS.model.default;
  const { fault } = values;
  if (values.cluster !== undefined && values.host === 'thread') {
    problems.push(errors.invalidValue('host', "'process' (or unset) with --cluster: actors run in processes on the workers", values.host));
  }
  if (values.minWorkers !== undefined && values.cluster === undefined) {
    problems.push(errors.invalidValue('minWorkers', 'only with --cluster (it is the machines a cluster run may shrink to)', values.minWorkers));
  }
  if (values.ema !== undefined && values.ema > 0 && modelFamily(model) === 'vae') {
    problems.push(errors.invalidValue('ema', `0 for ${model} (only a GAN's generator keeps a moving average)`, values.ema));
  }
  // The strategy's rules live in its planner: asking it here refuses everything it would refuse later.
  try {
    const plan = planStrategy({
      model,
      strategy: values.strategy ?? FIELDS.strategy.default,
      ...(values.workers === undefined ? {} : { workers: values.workers }),
      host: values.cluster !== undefined ? 'process' : (values.host ?? FIELDS.host.default),
      microbatches: values.microbatches ?? FIELDS.microbatches.default,
      schedule: values.schedule ?? FIELDS.schedule.default,
      batchSize: values.batchSize ?? modelDefault(FIELDS.batchSize, model)!,
      backend: values.backend ?? FIELDS.backend.default,
    });
    if (values.minWorkers !== undefined && values.minWorkers > plan.workers) {
      problems.push(errors.invalidValue('minWorkers', `at most the run's ${plan.workers} workers`, values.minWorkers));
    }
  } catch (error) {
    if (!(error instanceof ParagenError)) throw error;
    problems.push(error);
  }
  if (fault !== undefined) {
    const actors = FAMILY_ACTORS[modelFamily(model)];
    const target = parseFault(fault);
    if (target && !actors.includes(target.actor)) {
      problems.push(errors.invalidValue('fault', `a crash of an actor of ${model} (${actors.join(', ')})`, fault));
    }
  }
  return problems;
}

/**
 * Validates settings for a command and fills in defaults (fixed ones, and the
 * model-dependent `batchSize`, `lr` and `beta1`). Throws one `ParagenError`
 * (exit code 2) listing every problem, one per line.
 *
 * @example
 * const config = parseConfig({ model: 'vae-mlp', epochs: 10 });
 * config.lr; // 0.001, the VAE default
 */
export function parseConfig<C extends CommandName = 'train'>(
  input: unknown,
  source: ConfigSource = 'api',
  command: C = 'train' as C,
): CommandConfig<C> {
  const { values, problems } = validateValues(input, source, command);
  if (problems.length === 0) problems.push(...crossFieldProblems(values, command).map((p) => inSource(source, p)));
  if (problems.length > 0) throw combine(problems);

  const model: ModelName = values.model ?? FIELDS.model.default;
  const result: Record<string, unknown> = {};
  for (const name of fieldsOf(command)) {
    const spec = field(name);
    let value: unknown = values[name];
    if (value === undefined && 'byFamily' in spec && spec.byFamily) value = modelDefault(spec, model);
    if (value === undefined && spec.default !== undefined) {
      value = Array.isArray(spec.default) ? [...(spec.default as readonly unknown[])] : spec.default;
    }
    if (value !== undefined) result[name] = value;
  }
  // A cluster's actors live in processes the workers fork.
  if (command === 'train' && result.cluster !== undefined) result.host = 'process';
  if (command === 'train' && result.epochs === undefined && result.steps === undefined) {
    result.epochs = DEFAULT_EPOCHS;
  }
  return result as CommandConfig<C>;
}

/**
 * Settings from a config file overridden by settings from flags. A flag that
 * sets one of a mutually exclusive pair replaces the file's other one, so
 * `--steps 50` over a file with `epochs: 10` trains 50 steps.
 */
export function mergeConfig(fileValues: ConfigValues, flagValues: ConfigValues): ConfigValues {
  const merged: Record<string, unknown> = { ...fileValues };
  for (const name of FIELD_NAMES) {
    const value = flagValues[name];
    if (value === undefined) continue;
    const group = field(name).exclusive;
    if (group) {
      // Only the file's partner goes: two exclusive flags together are still a conflict for parseConfig.
      for (const other of FIELD_NAMES) {
        if (other !== name && field(other).exclusive === group && flagValues[other] === undefined) delete merged[other];
      }
    }
    merged[name] = value;
  }
  return merged as ConfigValues;
}

/**
 * Reads a `.json`, `.yaml` or `.yml` config file and checks its keys and
 * values; every problem is reported with the file's path.
 */
export async function loadConfigFile(path: string): Promise<ConfigValues> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw errors.badFile(path, `cannot read: ${describeIoError(error)}`);
  }
  const ext = extname(path).toLowerCase();
  let parsed: unknown;
  if (ext === '.json') {
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw errors.badFile(path, `invalid JSON: ${(error as Error).message}`);
    }
  } else if (ext === '.yaml' || ext === '.yml') {
    // Imported here, not at the top, so `paragen --help` does not pay for the YAML parser.
    const { parse } = await import('yaml');
    try {
      parsed = parse(text);
    } catch (error) {
      throw errors.badFile(path, `invalid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  } else {
    throw errors.badFile(path, `unsupported config file type '${ext || '(none)'}' (use .json, .yaml or .yml)`);
  }
  // An empty YAML file parses to null: treat it as "no settings".
  if (parsed === null) return {};
  const { values, problems } = validateValues(parsed, { file: path });
  if (problems.length > 0) throw combine(problems);
  return values;
}

function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (error as Error).message;
}

/** A run's config as `config.json` holds it: keys in table order, two-space indent. */
export function serializeConfig(config: RunConfig): string {
  const ordered: Record<string, unknown> = {};
  for (const name of fieldsOf('train')) {
    const value = (config as Record<string, unknown>)[name];
    if (value !== undefined) ordered[name] = value;
  }
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
