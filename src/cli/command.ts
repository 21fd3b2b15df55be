/** What a command is: its help texts and its lazily loaded handler (the table is `commands.ts`). */
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
