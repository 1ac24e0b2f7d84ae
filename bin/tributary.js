#!/usr/bin/env node
// Client commands go straight to the command line tools (no broker code loaded); the rest,
// `start` and help, to the server's entry point.
const CLIENT_COMMANDS = new Set(['topics', 'produce', 'consume', 'configs', 'cluster']);
const argv = process.argv.slice(2);

if (CLIENT_COMMANDS.has(argv[0])) {
  const { runCli } = await import('../build/src/cli/main.js');
  process.exitCode = await runCli(argv);
} else {
  const { main } = await import('../build/src/main.js');
  await main(argv);
}
