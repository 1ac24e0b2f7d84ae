#!/usr/bin/env node
// `start` and help go to the server's entry point, `console` to the web console; every other
// command to the command line tools, which load no broker code (and report an unknown command
// with the list).
const argv = process.argv.slice(2);
const server = argv.length === 0 || ['start', '--help', '-h'].includes(argv[0]);

if (server) {
  const { main } = await import('../build/src/main.js');
  await main(argv);
} else if (argv[0] === 'console') {
  const { runConsole } = await import('../build/src/console/main.js');
  process.exitCode = await runConsole(argv.slice(1));
} else {
  const { runCli } = await import('../build/src/cli/main.js');
  process.exitCode = await runCli(argv);
}
