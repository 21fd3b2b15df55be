/** What a command is: its help texts and its lazily loaded handler (the table is `commands.ts`). */
import type { CommandConfig, CommandName, FieldName } from '../run/config-schema.js';
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
  /** Flags this command needs on the CLI although the API may leave them out (`sample` writes a file). */
  readonly cliRequired?: readonly FieldName[];
  /** Defaults the CLI applies where the API has none, as help shows them. */
  readonly cliDefaults?: Partial<Readonly<Record<FieldName, string>>>;
  readonly load: () => Promise<CommandHandler<C>>;
}

/** Where `paragen bench` writes its report files without `--out`. */
export const DEFAULT_BENCH_OUT = 'bench-out';
