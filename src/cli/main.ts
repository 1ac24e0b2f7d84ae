/**
 * The client commands of the `tributary` binary: topics, produce, consume, configs, groups,
 * cluster, reassign, brokers, leaders, transactions, producers.
 * runCli() parses, runs, reports errors and returns the exit code (see EXIT in output.ts).
 */
import { aclsCommand } from './acls.ts';
import { parseArgs, UsageError } from './args.ts';
import { clusterCommand } from './cluster.ts';
import { type Command, usageOf } from './command.ts';
import { COMMON_OPTIONS } from './common.ts';
import { configsCommand } from './configs.ts';
import { consumeCommand } from './consume.ts';
import { groupsCommand } from './groups.ts';
import { EXIT, type Io, reportError } from './output.ts';
import { produceCommand } from './produce.ts';
import { quotasCommand, usersCommand } from './quotas.ts';
import { brokersCommand, leadersCommand, reassignCommand } from './reassign.ts';
import { topicsCommand } from './topics.ts';
import { producersCommand, transactionsCommand } from './transactions.ts';

const COMMANDS: readonly Command[] = [
  topicsCommand,
  produceCommand,
  consumeCommand,
  configsCommand,
  quotasCommand,
  usersCommand,
  groupsCommand,
  clusterCommand,
  reassignCommand,
  brokersCommand,
  leadersCommand,
  transactionsCommand,
  producersCommand,
  aclsCommand,
];

/** The names runCli() handles. */
export const CLI_COMMANDS: ReadonlySet<string> = new Set(COMMANDS.map((c) => c.name));

/** One line per command, for the binary's top-level help. */
export function commandList(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
}

const processIo: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/**
 * When the reader of stdout goes away (`tributary consume T | head`), there is nobody left to
 * print for: exit 0 at once, as `head` expects.
 */
function exitOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

/** Runs `tributary <command> ...`; `argv` starts with the command name. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  if (io === processIo) exitOnClosedStdout();
  const [name, ...rest] = argv;
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`tributary: unknown command ${name ?? ''}\n\ncommands:\n${commandList()}\n`);
    return EXIT.usage;
  }
  let code: number;
  try {
    const args = parseArgs(rest, { ...command.options, ...COMMON_OPTIONS });
    if (args.flag('help')) {
      io.stdout.write(`${usageOf(command)}\n`);
      code = EXIT.ok;
    } else {
      code = await command.run(args, io);
    }
  } catch (err) {
    code = reportError(io, err, err instanceof UsageError ? usageOf(command) : undefined);
  }
  await flush(io.stdout);
  await flush(io.stderr);
  return code;
}

function flush(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}
