/**
 * Client options from a client properties file (Kafka's names, and librdkafka's where they
 * differ), shared by the command line (--command-config) and the console: client.id, timeouts
 * and retries; and the security of the connection: security.protocol (PLAINTEXT, SSL,
 * SASL_PLAINTEXT, SASL_SSL), sasl.mechanism(s) PLAIN or SCRAM-SHA-256/512 with
 * sasl.username/sasl.password or sasl.jaas.config, ssl.ca.location (or a PEM
 * ssl.truststore.location), ssl.certificate.location and ssl.key.location for a client
 * certificate, ssl.endpoint.identification.algorithm (empty: no host name check). Security
 * settings that cannot be honoured throw ClientPropertiesError; other unknown properties are
 * reported through `warn` and ignored.
 */
import { readFile } from 'node:fs/promises';
import type { ClientOptions } from '../client/client.ts';
import { parseJaasConfig } from '../common/jaas.ts';
import { parseProperties } from '../common/properties.ts';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

/** A properties file or bootstrap list that cannot be used as given. */
export class ClientPropertiesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientPropertiesError';
  }
}

/** Client properties mapped to numeric client options. */
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

export interface ClientPropertiesInput {
  /** The bootstrap list given on the command line (wins over bootstrap.servers in the file). */
  readonly bootstrap?: string | undefined;
  /** The properties file, if any. */
  readonly file?: string | undefined;
  /** The option name to quote in messages, e.g. '--command-config'. */
  readonly what?: string;
  /** Told about each property that is not used. */
  readonly warn?: (message: string) => void;
}

/** Reads `file` (if given) and returns the client options it and `bootstrap` describe. */
export async function clientOptionsFromProperties(
  input: ClientPropertiesInput,
): Promise<ClientOptions> {
  const what = input.what ?? '--command-config';
  const options: Record<string, unknown> = {};
  let bootstrap = input.bootstrap;
  if (input.file !== undefined) {
    let text: string;
    try {
      text = await readFile(input.file, 'utf8');
    } catch (err) {
      throw new ClientPropertiesError(`${what} ${input.file}: ${(err as Error).message}`);
    }
    const security = new Map<string, string>();
    for (const [key, value] of parseProperties(text)) {
      if (SECURITY_PROPERTIES.has(key)) security.set(key, value);
      else applyProperty(key, value, options, what, input.warn);
      if (key === 'bootstrap.servers' && bootstrap === undefined) bootstrap = value;
    }
    Object.assign(options, await securityOptions(security, what));
  }
  const servers = (bootstrap ?? DEFAULT_BOOTSTRAP)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) throw new ClientPropertiesError('--bootstrap-server is empty');
  return { ...options, bootstrapServers: servers } as ClientOptions;
}

function applyProperty(
  key: string,
  value: string,
  options: Record<string, unknown>,
  what: string,
  warn: ((message: string) => void) | undefined,
): void {
  const numeric = NUMERIC_PROPERTIES[key];
  if (numeric !== undefined) {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n))
      throw new ClientPropertiesError(`${what}: ${key} must be a number`);
    options[numeric] = n;
  } else if (key === 'client.id') {
    options[CLIENT_ID_OPTION] = value;
  } else if (key !== 'bootstrap.servers' && !IGNORED_PREFIXES.some((p) => key.startsWith(p))) {
    warn?.(`client property '${key}' is not used; ignored`);
  }
}

async function readPem(what: string, key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ClientPropertiesError(`${what}: ${key} ${path}: ${(err as Error).message}`);
  }
}

type SecurityOptions = {
  tls?: NonNullable<ClientOptions['tls']>;
  sasl?: NonNullable<ClientOptions['sasl']>;
};

/** TLS and SASL client options from the security properties. */
async function securityOptions(
  p: ReadonlyMap<string, string>,
  what: string,
): Promise<SecurityOptions> {
  const protocol = (p.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) {
    throw new ClientPropertiesError(`${what}: unknown security.protocol ${protocol}`);
  }
  const out: SecurityOptions = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') out.tls = await tlsOptions(p, what);
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') out.sasl = saslOptions(p, what);
  return out;
}

async function tlsOptions(
  p: ReadonlyMap<string, string>,
  what: string,
): Promise<NonNullable<ClientOptions['tls']>> {
  const trustType = (p.get('ssl.truststore.type') ?? 'PEM').toUpperCase();
  const caPath = p.get('ssl.ca.location') ?? p.get('ssl.truststore.location');
  if (p.has('ssl.truststore.location') && trustType !== 'PEM') {
    throw new ClientPropertiesError(
      `${what}: only a PEM truststore (ssl.truststore.type=PEM) is read`,
    );
  }
  const certPath = p.get('ssl.certificate.location');
  const keyPath = p.get('ssl.key.location');
  return {
    ...(caPath === undefined ? {} : { ca: await readPem(what, 'ssl.ca.location', caPath) }),
    ...(certPath === undefined
      ? {}
      : { cert: await readPem(what, 'ssl.certificate.location', certPath) }),
    ...(keyPath === undefined ? {} : { key: await readPem(what, 'ssl.key.location', keyPath) }),
    checkHostname: (p.get('ssl.endpoint.identification.algorithm') ?? 'https') !== '',
  };
}

function saslOptions(
  p: ReadonlyMap<string, string>,
  what: string,
): NonNullable<ClientOptions['sasl']> {
  const mechanism = (p.get('sasl.mechanism') ?? p.get('sasl.mechanisms') ?? 'GSSAPI').toUpperCase();
  if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') {
    throw new ClientPropertiesError(
      `${what}: sasl.mechanism ${mechanism} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`,
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
      throw new ClientPropertiesError(`${what}: sasl.jaas.config: ${(err as Error).message}`);
    }
    username ??= options?.get('username');
    password ??= options?.get('password');
  }
  if (username === undefined || password === undefined) {
    throw new ClientPropertiesError(
      `${what}: SASL needs sasl.username and sasl.password (or sasl.jaas.config)`,
    );
  }
  return { mechanism, username, password };
}
