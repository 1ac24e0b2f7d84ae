/**
 * Options every command takes: --bootstrap-server and --command-config (client properties, in
 * Kafka's names). Security properties are accepted and ignored for now (with a warning when they
 * ask for more than PLAINTEXT); unknown properties are reported and ignored.
 */
import { readFile } from 'node:fs/promises';
import { Admin, type ClientOptions } from '../admin/index.ts';
import { parseProperties } from '../common/properties.ts';
import { type OptionSpecs, type ParsedArgs, parseInteger, UsageError } from './args.ts';
import type { Io } from './output.ts';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

export const COMMON_OPTIONS: OptionSpecs = {
  'bootstrap-server': {
    kind: 'string',
    value: 'HOST:PORT[,...]',
    help: `brokers to connect to (default ${DEFAULT_BOOTSTRAP})`,
  },
  'command-config': {
    kind: 'string',
    value: 'FILE',
    help: 'client properties file (client.id, request.timeout.ms, retries, ...)',
  },
  help: { kind: 'flag', help: 'show this help' },
};

/** Client properties taken from --command-config, mapped to client options. */
const NUMERIC_PROPERTIES: Readonly<Record<string, keyof ClientOptions>> = {
  'request.timeout.ms': 'requestTimeoutMs',
  'default.api.timeout.ms': 'requestTimeoutMs',
  'socket.connection.setup.timeout.ms': 'connectTimeoutMs',
  retries: 'retries',
  'retry.backoff.ms': 'retryBackoffMs',
  'retry.backoff.max.ms': 'retryBackoffMaxMs',
};

const CLIENT_ID_OPTION: keyof ClientOptions = 'clientId';

const IGNORED_PREFIXES = ['ssl.', 'sasl.', 'security.', 'metadata.', 'connections.', 'client.dns'];

async function clientOptions(args: ParsedArgs, io: Io): Promise<ClientOptions> {
  const options: Record<string, unknown> = {};
  let bootstrap = args.string('bootstrap-server');
  const file = args.string('command-config');
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--command-config ${file}: ${(err as Error).message}`);
    }
    for (const [key, value] of parseProperties(text)) {
      applyProperty(key, value, options, io);
      if (key === 'bootstrap.servers' && bootstrap === undefined) bootstrap = value;
    }
  }
  const servers = (bootstrap ?? DEFAULT_BOOTSTRAP)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) throw new UsageError('--bootstrap-server is empty');
  return { ...options, bootstrapServers: servers } as ClientOptions;
}

function applyProperty(key: string, value: string, options: Record<string, unknown>, io: Io) {
  const numeric = NUMERIC_PROPERTIES[key];
  if (numeric !== undefined) {
    const n = parseInteger(value);
    if (n === undefined || n < 0) throw new UsageError(`--command-config: ${key} must be a number`);
    options[numeric] = n;
  } else if (key === 'client.id') {
    options[CLIENT_ID_OPTION] = value;
  } else if (key === 'security.protocol') {
    if (value.toUpperCase() !== 'PLAINTEXT') {
      io.stderr.write(
        `tributary: warning: security.protocol=${value} is not supported yet; connecting in plaintext\n`,
      );
    }
  } else if (key !== 'bootstrap.servers' && !IGNORED_PREFIXES.some((p) => key.startsWith(p))) {
    io.stderr.write(`tributary: warning: client property '${key}' is not used; ignored\n`);
  }
}

/** Runs `fn` with an Admin connected as the common options say; always closes it. */
export async function withAdmin<T>(
  args: ParsedArgs,
  io: Io,
  fn: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = new Admin(await clientOptions(args, io));
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}
