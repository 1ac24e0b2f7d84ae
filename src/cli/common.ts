/**
 * Options every command takes: --bootstrap-server and --command-config (client properties, in
 * Kafka's names, and librdkafka's where they differ): client.id, timeouts and retries; and the
 * security of the connection: security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
 * sasl.mechanism(s) PLAIN or SCRAM-SHA-256/512 with sasl.username/sasl.password or
 * sasl.jaas.config, ssl.ca.location (or a PEM ssl.truststore.location), ssl.certificate.location
 * and ssl.key.location for a client certificate, ssl.endpoint.identification.algorithm (empty:
 * no host name check). Security settings that cannot be honoured stop the command; other unknown
 * properties are reported and ignored.
 */
import { readFile } from 'node:fs/promises';
import { Admin, type ClientOptions } from '../admin/index.ts';
import { parseJaasConfig } from '../common/jaas.ts';
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

const IGNORED_PREFIXES = ['metadata.', 'connections.', 'client.dns'];

/** The security properties read (the others of ssl./sasl. are reported as unused). */
const SECURITY_PROPERTIES = new Set([
  'security.protocol',
  'sasl.mechanism',
  'sasl.mechanisms',
  'sasl.username',
  'sasl.password',
  'sasl.jaas.config',
  'ssl.ca.location',
  'ssl.truststore.location',
  'ssl.truststore.type',
  'ssl.certificate.location',
  'ssl.key.location',
  'ssl.endpoint.identification.algorithm',
]);

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
    const security = new Map<string, string>();
    for (const [key, value] of parseProperties(text)) {
      if (SECURITY_PROPERTIES.has(key)) security.set(key, value);
      else applyProperty(key, value, options, io);
      if (key === 'bootstrap.servers' && bootstrap === undefined) bootstrap = value;
    }
    Object.assign(options, await securityOptions(security));
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
  } else if (key !== 'bootstrap.servers' && !IGNORED_PREFIXES.some((p) => key.startsWith(p))) {
    io.stderr.write(`tributary: warning: client property '${key}' is not used; ignored\n`);
  }
}

async function readPem(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`--command-config: ${key} ${path}: ${(err as Error).message}`);
  }
}

/** TLS and SASL client options from the security properties. */
async function securityOptions(p: ReadonlyMap<string, string>): Promise<Partial<ClientOptions>> {
  const protocol = (p.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) {
    throw new UsageError(`--command-config: unknown security.protocol ${protocol}`);
  }
  const out: {
    tls?: NonNullable<ClientOptions['tls']>;
    sasl?: NonNullable<ClientOptions['sasl']>;
  } = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const trustType = (p.get('ssl.truststore.type') ?? 'PEM').toUpperCase();
    const caPath = p.get('ssl.ca.location') ?? p.get('ssl.truststore.location');
    if (p.has('ssl.truststore.location') && trustType !== 'PEM') {
      throw new UsageError(
        '--command-config: only a PEM truststore (ssl.truststore.type=PEM) is read',
      );
    }
    const certPath = p.get('ssl.certificate.location');
    const keyPath = p.get('ssl.key.location');
    out.tls = {
      ...(caPath === undefined ? {} : { ca: await readPem('ssl.ca.location', caPath) }),
      ...(certPath === undefined
        ? {}
        : { cert: await readPem('ssl.certificate.location', certPath) }),
      ...(keyPath === undefined ? {} : { key: await readPem('ssl.key.location', keyPath) }),
      checkHostname: (p.get('ssl.endpoint.identification.algorithm') ?? 'https') !== '',
    };
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = (
      p.get('sasl.mechanism') ??
      p.get('sasl.mechanisms') ??
      'GSSAPI'
    ).toUpperCase();
    if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') {
      throw new UsageError(
        `--command-config: sasl.mechanism ${mechanism} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`,
      );
    }
    let username = p.get('sasl.username');
    let password = p.get('sasl.password');
    const jaas = p.get('sasl.jaas.config');
    if (jaas !== undefined) {
      let options: ReadonlyMap<string, string> | undefined;
      try {
        options = parseJaasConfig(jaas)[0]?.options;
      } catch (err) {
        throw new UsageError(`--command-config: sasl.jaas.config: ${(err as Error).message}`);
      }
      username ??= options?.get('username');
      password ??= options?.get('password');
    }
    if (username === undefined || password === undefined) {
      throw new UsageError(
        '--command-config: SASL needs sasl.username and sasl.password (or sasl.jaas.config)',
      );
    }
    out.sasl = { mechanism, username, password };
  }
  return out;
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
