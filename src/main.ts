/**
 * The command line: `tributary start [--config FILE] [--override name=value ...]`.
 * Prints one line when the broker is ready; SIGTERM or SIGINT stops it cleanly (exit 0); SIGUSR2
 * prints the time per request by API (request-times.ts) and starts counting afresh.
 * A bad config names the key and the reason and exits 1, as does a setting the broker does not
 * implement where ignoring it would change safety or topology (config/unsupported.ts); other
 * settings that are accepted and ignored are listed on stderr once, at start.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Broker } from './broker/broker.ts';
import { formatRequestTimes } from './broker/request-times.ts';
import { TributaryError } from './common/errors.ts';
import { parseProperties } from './common/properties.ts';
import { BrokerConfig } from './config/broker-config.ts';

const USAGE = `usage: tributary start [--config server.properties] [--override name=value]...

Starts a Kafka-compatible broker. Config names are Kafka's (listeners, log.dirs, num.partitions, ...).
Defaults: listeners=PLAINTEXT://127.0.0.1:9092, log.dirs=./data, broker.id=0.`;

/** The usage with the client commands; the CLI is loaded only here, so `start` never pays for it. */
async function usage(): Promise<string> {
  const cli = await import('./cli/main.ts');
  const console =
    '  console       the web console (topics, messages, groups, lag alarms) on 127.0.0.1:8080';
  return `${USAGE}\n\nClient commands (tributary COMMAND --help; docs/cli.md):\n${cli.commandList()}\n${console}`;
}

async function parseArgs(args: readonly string[]): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  const overrides: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = () => {
      const v = args[++i];
      if (v === undefined) throw new TributaryError('BRK_CONFIG_INVALID', `${arg} needs a value`);
      return v;
    };
    if (arg === '--config') {
      for (const [k, v] of parseProperties(await readFile(next(), 'utf8'))) values.set(k, v);
    } else if (arg === '--override') {
      overrides.push(next());
    } else if (arg.startsWith('--override=')) {
      overrides.push(arg.slice('--override='.length));
    } else {
      throw new TributaryError('BRK_CONFIG_INVALID', `unknown argument ${arg}\n${USAGE}`);
    }
  }
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0)
      throw new TributaryError('BRK_CONFIG_INVALID', `--override ${o}: expected name=value`);
    values.set(o.slice(0, eq).trim(), o.slice(eq + 1));
  }
  return values;
}

async function start(args: readonly string[]): Promise<void> {
  const config = BrokerConfig.from(await parseArgs(args));
  const ignored = config.ignoredKeysLine();
  if (ignored !== undefined) process.stderr.write(`${ignored}\n`);
  // Signal handlers go in before anything is started or printed: a SIGTERM that arrived between
  // the ready line and their installation would take Node's default action and kill the broker
  // without a clean shutdown (seen with 10,000 partitions, when a collection lands in between).
  let broker: Broker | undefined;
  let requested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (broker === undefined && requested !== undefined) {
      // A second signal while still starting: give up on the start (the next one recovers).
      process.stderr.write(`${signal} received again while starting, exiting\n`);
      process.exit(1);
    }
    if (requested === undefined) process.stderr.write(`${signal} received, shutting down\n`);
    requested ??= signal;
    if (broker === undefined || stopping) return;
    stopping = true;
    broker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Request time percentiles per API since start or the last SIGUSR2, then counting afresh.
  process.on('SIGUSR2', () => {
    if (broker === undefined) return;
    const times = broker.server.requestTimes;
    process.stdout.write(`${formatRequestTimes(times.summary()) || 'request time: none'}\n`);
    times.reset();
  });
  broker = await Broker.start({ config });
  const addresses = broker.listeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(', ');
  const { logDirs, brokerId } = config.settings;
  const dirs = logDirs.map((d) => resolve(d)).join(', ');
  const metrics = broker.metricsUrl === null ? '' : `, metrics on ${broker.metricsUrl}`;
  process.stdout.write(
    `tributary ready: listening on ${addresses}, node ${brokerId}, data in ${dirs}${metrics}\n`,
  );
  // Asked to stop while starting: stop now that there is a broker to stop.
  if (requested !== undefined) stop(requested);
}

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'start') {
      await start(rest);
    } else if (command === undefined || command === '--help' || command === '-h') {
      process.stdout.write(`${await usage()}\n`);
    } else {
      // Every other command is a client command (or unknown, which the CLI reports).
      const cli = await import('./cli/main.ts');
      process.exitCode = await cli.runCli(argv);
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`tributary: ${message}\n`);
    process.exit(1);
  }
}
