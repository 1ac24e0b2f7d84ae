/**
 * `tributary console`: the web console on a loopback address (127.0.0.1:8080 by default), over
 * the admin library, so it works with any Kafka-protocol cluster. It logs in with the client
 * properties of --command-config (TLS, SASL), samples log end offsets for the throughput
 * sparklines and checks the lag alarms of --alarms-file on timers.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Admin,
  ClientPropertiesError,
  clientOptionsFromProperties,
  DEFAULT_BOOTSTRAP,
} from '../admin/index.ts';
import { AlarmMonitor, AlarmStore } from './alarms.ts';
import { type ConsoleContext, type ConsoleLimits, DEFAULT_LIMITS } from './context.ts';
import { Sampler } from './sampler.ts';
import { ConsoleServer, isLoopback, newCsrfToken } from './server.ts';

export const CONSOLE_USAGE = `usage: tributary console [--bootstrap-server HOST:PORT[,...]] [--listen HOST:PORT]
       [--command-config FILE] [--alarms-file FILE] [options]

Options:
  --bootstrap-server HOST:PORT[,...]  brokers to connect to (default ${DEFAULT_BOOTSTRAP})
  --command-config FILE               client properties (client.id, timeouts, TLS, SASL)
  --listen HOST:PORT                  where the console serves (default 127.0.0.1:8080;
                                      port 0 picks a free one)
  --alarms-file FILE                  lag alarm rules (default ./tributary-alarms.json)
  --sample-interval-ms N              how often log end offsets and sizes are sampled (5000)
  --sample-history N                  samples kept per topic for the sparklines (60)
  --alarm-interval-ms N               how often the lag alarms are checked (10000)
  --webhook-timeout-ms N              how long a webhook post may take (5000)
  --messages-max N                    records a query shows at most (${DEFAULT_LIMITS.messagesMax})
  --search-scan-max N                 records a search may read at most (${DEFAULT_LIMITS.searchScanMax})
  --query-timeout-ms N                how long a query may read (${DEFAULT_LIMITS.queryTimeoutMs})
  --fetch-partition-bytes N           bytes a query fetches per partition per request (${DEFAULT_LIMITS.fetchPartitionBytes})
  --form-bytes-max N                  the largest form accepted (${DEFAULT_LIMITS.formBytesMax})
  --help                              show this help

Exit codes: 0 stopped by a signal, 2 usage error.`;

const INT_OPTIONS = [
  'sample-interval-ms',
  'sample-history',
  'alarm-interval-ms',
  'webhook-timeout-ms',
  'messages-max',
  'search-scan-max',
  'query-timeout-ms',
  'fetch-partition-bytes',
  'form-bytes-max',
] as const;

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${name} needs a whole number of at least 1, not '${raw}'`);
  }
  return n;
}

export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(raw);
  const port = Number(m?.[3]);
  if (m === null || !(port >= 0 && port < 65536)) {
    throw new UsageError(`--listen needs HOST:PORT, not '${raw}'`);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

interface ConsoleArgs {
  readonly values: Record<string, string | boolean | undefined>;
}

function parse(argv: readonly string[]): ConsoleArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    'bootstrap-server': { type: 'string' },
    'command-config': { type: 'string' },
    listen: { type: 'string' },
    'alarms-file': { type: 'string' },
    help: { type: 'boolean' },
  };
  for (const name of INT_OPTIONS) options[name] = { type: 'string' };
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    return { values };
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
}

/** Runs the console until SIGINT or SIGTERM; returns the exit code. */
export async function runConsole(argv: readonly string[]): Promise<number> {
  let started: Awaited<ReturnType<typeof startConsole>>;
  try {
    const args = parse(argv);
    if (args.values['help'] === true) {
      process.stdout.write(`${CONSOLE_USAGE}\n`);
      return 0;
    }
    started = await startConsole(args, (m) => process.stderr.write(`tributary console: ${m}\n`));
  } catch (err) {
    if (err instanceof UsageError || err instanceof ClientPropertiesError) {
      process.stderr.write(`tributary console: ${err.message}\n\n${CONSOLE_USAGE}\n`);
      return 2;
    }
    process.stderr.write(`tributary console: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`tributary console: serving ${started.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await started.stop();
  return 0;
}

async function startConsole(args: ConsoleArgs, warn: (message: string) => void) {
  const v = args.values;
  const str = (name: string) => v[name] as string | undefined;
  const listen = parseListen(str('listen') ?? '127.0.0.1:8080');
  const ints = Object.fromEntries(INT_OPTIONS.map((n) => [n, str(n)]));
  const limits: ConsoleLimits = {
    messagesMax: positiveInt('messages-max', ints['messages-max'], DEFAULT_LIMITS.messagesMax),
    searchScanMax: positiveInt(
      'search-scan-max',
      ints['search-scan-max'],
      DEFAULT_LIMITS.searchScanMax,
    ),
    queryTimeoutMs: positiveInt(
      'query-timeout-ms',
      ints['query-timeout-ms'],
      DEFAULT_LIMITS.queryTimeoutMs,
    ),
    fetchPartitionBytes: positiveInt(
      'fetch-partition-bytes',
      ints['fetch-partition-bytes'],
      DEFAULT_LIMITS.fetchPartitionBytes,
    ),
    formBytesMax: positiveInt(
      'form-bytes-max',
      ints['form-bytes-max'],
      DEFAULT_LIMITS.formBytesMax,
    ),
  };
  const sampleIntervalMs = positiveInt('sample-interval-ms', ints['sample-interval-ms'], 5000);
  const historyMax = positiveInt('sample-history', ints['sample-history'], 60);
  const alarmIntervalMs = positiveInt('alarm-interval-ms', ints['alarm-interval-ms'], 10_000);
  const webhookTimeoutMs = positiveInt('webhook-timeout-ms', ints['webhook-timeout-ms'], 5000);
  const options = await clientOptionsFromProperties({
    bootstrap: str('bootstrap-server'),
    file: str('command-config'),
    warn,
  });
  const admin = new Admin({ clientId: 'tributary-console', ...options });
  const store = new AlarmStore(resolve(str('alarms-file') ?? 'tributary-alarms.json'));
  await store.load();
  const sampler = new Sampler(admin, { intervalMs: sampleIntervalMs, historyMax });
  const alarms = new AlarmMonitor(admin, store, { intervalMs: alarmIntervalMs, webhookTimeoutMs });
  const ctx: ConsoleContext = { admin, sampler, alarms, limits, csrf: newCsrfToken() };
  const server = new ConsoleServer(ctx);
  const url = await server.listen(listen);
  if (!isLoopback(listen.host)) {
    warn(
      `listening on ${listen.host}, not a loopback address: anyone who can reach it can change the cluster`,
    );
  }
  sampler.start();
  alarms.start();
  return {
    url,
    stop: async () => {
      await Promise.all([server.close(), sampler.stop(), alarms.stop()]);
      await admin.close();
    },
  };
}
