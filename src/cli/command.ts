/** The shape of one command of the `tributary` binary. */
import { describeOptions, type OptionSpecs, type ParsedArgs } from './args.ts';
import { COMMON_OPTIONS } from './common.ts';
import type { Io } from './output.ts';

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis lines, without the options. */
  readonly synopsis: string;
  readonly options: OptionSpecs;
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** Full help of a command: synopsis, its options, then the common ones. */
export function usageOf(command: Command): string {
  return `${command.synopsis}\n\nOptions:\n${describeOptions(command.options)}\n${describeOptions(COMMON_OPTIONS)}`;
}
