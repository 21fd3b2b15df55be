/**
 * Bad input named as the user typed it. The validator speaks in config keys
 * (`batchSize must be a positive integer, got -3`), which is right for the API
 * and for config files; on the command line the same problem names the flag
 * (`--batch-size must be a positive integer, got -3`). The mapping happens
 * here, at the CLI's edge, so the validator keeps one voice.
 */
import { ParagenError } from '../errors.js';
import { field, fieldsOf, type CommandName } from '../run/config-schema.js';

/** `error` with each line's config keys spelled as `command`'s flags; lines naming a file (`run.yaml: …`) are left as they are. */
export function withFlagNames(error: ParagenError, command: CommandName): ParagenError {
  const flags = new Map<string, string>(fieldsOf(command).map((name) => [name, field(name).flag]));
  const lines = error.message.split('\n');
  const typed = lines.map((line) => typedLine(line, flags));
  if (typed.every((line, i) => line === lines[i])) return error;
  return new ParagenError(error.code, typed.join('\n'), error.exitCode, { cause: error });
}

function typedLine(line: string, flags: ReadonlyMap<string, string>): string {
  const flag = (key: string) => flags.get(key);

  // `epochs and steps cannot both be set, got epochs 2 and steps 3`
  const conflict = /^(\w+) and (\w+) cannot both be set, got \1 (.*) and \2 (.*)$/.exec(line);
  if (conflict) {
    const [, a, b, aValue, bValue] = conflict as unknown as [string, string, string, string, string];
    const fa = flag(a);
    const fb = flag(b);
    if (fa && fb) return `${fa} and ${fb} cannot both be set, got ${fa} ${aValue} and ${fb} ${bValue}`;
    return line;
  }

  // `run is required (--run <dir>)` → `--run <dir> is required`
  const missing = /^(\w+) is required \((--[\w-]+)(.*)\)$/.exec(line);
  if (missing) {
    const [, key, given, rest] = missing as unknown as [string, string, string, string];
    return flag(key) === given ? `${given}${rest} is required` : line;
  }

  // `microbatches must be at most batchSize (8), got 16`
  const invalid = /^(\w+) must be (.*)$/.exec(line);
  if (invalid) {
    const [, key, rest] = invalid as unknown as [string, string, string];
    const f = flag(key);
    if (f === undefined) return line;
    const got = rest.lastIndexOf(', got ');
    const expected = got < 0 ? rest : rest.slice(0, got);
    const tail = got < 0 ? '' : rest.slice(got);
    // Only unmistakable keys inside the expectation: camelCase ones, and `with <key> '<value>'`.
    const spelled = expected
      .replace(/\b([a-z]+[A-Z]\w*)\b/g, (word) => flag(word) ?? word)
      .replace(/\bwith (\w+) '/g, (whole, word: string) => (flag(word) ? `with ${flag(word)} '` : whole));
    return `${f} must be ${spelled}${tail}`;
  }
  return line;
}
