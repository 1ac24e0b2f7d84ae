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
  const options = describeOptions({ ...command.options, ...COMMON_OPTIONS });
  return `${command.synopsis}\n\nOptions:\n${options}\n\nExit codes: 0 ok, 1 Kafka error, 2 usage error, 3 cluster unreachable.`;
}
