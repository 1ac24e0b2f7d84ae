#!/usr/bin/env node
// `start` and help go to the server's entry point; every other command to the command line
// tools, which load no broker code (and report an unknown command with the list).
const argv = process.argv.slice(2);
const server = argv.length === 0 || ['start', '--help', '-h'].includes(argv[0]);

if (server) {
  const { main } = await import('../build/src/main.js');
  await main(argv);
} else {
  const { runCli } = await import('../build/src/cli/main.js');
  process.exitCode = await runCli(argv);
}
