/**
 * How this broker connects to the others (replica fetchers, the controller's channel, transaction
 * markers and verification, controlled shutdown), resolved once from the config as Kafka does:
 *
 * - The listener: inter.broker.listener.name, or the listener named after
 *   security.inter.broker.protocol (set one, not both); with neither, the first listener.
 *   Brokers connect to each other's advertised endpoint of that listener.
 * - TLS (SSL, SASL_SSL): that listener's own ssl.* settings (listener.name.<l>.ssl.* first:
 *   the versions of ssl.enabled.protocols, the suites of ssl.cipher.suites). The
 *   truststore checks the other brokers' certificates (Node's default CAs without one), the
 *   keystore is this broker's client certificate (sent when the other side asks for one:
 *   ssl.client.auth), and ssl.endpoint.identification.algorithm=https (the default) checks the
 *   certificate names the host connected to.
 * - SASL (SASL_PLAINTEXT, SASL_SSL): sasl.mechanism.inter.broker.protocol (PLAIN, SCRAM-SHA-256,
 *   SCRAM-SHA-512; one of the listener's sasl.enabled.mechanisms), and the broker's own user and
 *   password from the username and password options of the listener's JAAS config for that
 *   mechanism, listener.name.<l>.<mechanism>.sasl.jaas.config (for PLAIN the same value holds the
 *   user_<name> entries the listener accepts).
 *
 * The brokers' principal on the other side is then User:<username> with SASL, the subject of
 * the keystore's certificate with SSL and client authentication, else User:ANONYMOUS.
 */
import { invalidConfig, type SecurityProtocol } from '../config/config-def.ts';
import { parseSecurityProtocolMap } from '../config/listeners.ts';
import { unsupportedConfig } from '../config/unsupported.ts';
import {
  type BrokerSecuritySource,
  type ListenerSecurity,
  listenerSecurity,
  SUPPORTED_SASL_MECHANISMS,
} from './listener-security.ts';
import { PLAIN_LOGIN_MODULE, parseJaasConfig, SCRAM_LOGIN_MODULE } from './plain.ts';

export type InterBrokerMechanism = (typeof SUPPORTED_SASL_MECHANISMS)[number];

/** A client's TLS options (the shape of src/client's ConnectionOptionsTls). */
export interface InterBrokerTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly pfx?: Buffer;
  readonly passphrase?: string;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers?: string;
  readonly checkHostname: boolean;
}

export interface InterBrokerSasl {
  readonly mechanism: InterBrokerMechanism;
  readonly username: string;
  readonly password: string;
}

export interface InterBrokerSecurity {
  readonly listener: string;
  readonly protocol: SecurityProtocol;
  /** For SSL and SASL_SSL. */
  readonly tls?: InterBrokerTls;
  /** For SASL_PLAINTEXT and SASL_SSL. */
  readonly sasl?: InterBrokerSasl;
}

/** What naming the inter-broker listener reads. */
export interface InterBrokerNameSource {
  readonly listeners: readonly { readonly name: string }[];
  readonly interBrokerListenerName: string | null;
  readonly securityInterBrokerProtocol: string | null;
}

/**
 * The inter-broker listener's name: inter.broker.listener.name, else the listener named after
 * security.inter.broker.protocol, else the first listener. Never throws (checked at start by
 * resolveInterBrokerSecurity).
 */
export function interBrokerListenerName(s: InterBrokerNameSource): string {
  return (
    s.interBrokerListenerName?.toUpperCase() ??
    s.securityInterBrokerProtocol?.toUpperCase() ??
    s.listeners[0]?.name ??
    'PLAINTEXT'
  );
}

/** Resolves and checks the inter-broker security; throws BRK_CONFIG_INVALID naming the key. */
export function resolveInterBrokerSecurity(
  config: BrokerSecuritySource & { readonly settings: InterBrokerNameSource },
  listeners?: ReadonlyMap<string, ListenerSecurity>,
): InterBrokerSecurity {
  const s = config.settings;
  if (s.interBrokerListenerName !== null && s.securityInterBrokerProtocol !== null) {
    throw invalidConfig(
      'security.inter.broker.protocol',
      s.securityInterBrokerProtocol,
      'Only one of inter.broker.listener.name and security.inter.broker.protocol should be set',
    );
  }
  const name = interBrokerListenerName(s);
  const listener = s.listeners.find((l) => l.name === name);
  if (listener === undefined) {
    const key =
      s.interBrokerListenerName !== null
        ? 'inter.broker.listener.name'
        : 'security.inter.broker.protocol';
    throw invalidConfig(
      key,
      name,
      `the inter-broker listener must be one of the listeners (${s.listeners.map((l) => l.name).join(', ')})`,
    );
  }
  const security =
    listeners?.get(name) ??
    listenerSecurity(config, listener, parseSecurityProtocolMap(s.listenerSecurityProtocolMap));
  const tls = security.tls === null ? undefined : clientTls(config, name, security.tls);
  const sasl = security.sasl === null ? undefined : clientSasl(config, name, security.sasl);
  return {
    listener: name,
    protocol: security.protocol,
    ...(tls === undefined ? {} : { tls }),
    ...(sasl === undefined ? {} : { sasl }),
  };
}

const asBuffer = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);

/** The listener's keystore as the client certificate, its truststore for the peers' ones. */
function clientTls(
  config: BrokerSecuritySource,
  listener: string,
  server: NonNullable<ListenerSecurity['tls']>,
): InterBrokerTls {
  const override = config.setValue(
    `listener.name.${listener.toLowerCase()}.ssl.endpoint.identification.algorithm`,
  );
  const algorithm = (
    override ??
    config.value('ssl.endpoint.identification.algorithm') ??
    ''
  ).trim();
  if (algorithm !== '' && algorithm.toLowerCase() !== 'https') {
    throw invalidConfig(
      'ssl.endpoint.identification.algorithm',
      algorithm,
      'only https, or empty for no check',
    );
  }
  const one = <T>(v: T | readonly T[] | undefined): T | undefined =>
    Array.isArray(v) ? (v[0] as T | undefined) : (v as T | undefined);
  const ca = one(server.ca as string | Buffer | undefined);
  const cert = one(server.cert as string | Buffer | undefined);
  const key = one(server.key as string | Buffer | undefined);
  const pfx = one(server.pfx as string | Buffer | undefined);
  return {
    checkHostname: algorithm !== '',
    ...(ca === undefined ? {} : { ca: asBuffer(ca) }),
    ...(cert === undefined ? {} : { cert: asBuffer(cert) }),
    ...(key === undefined ? {} : { key: asBuffer(key) }),
    ...(pfx === undefined ? {} : { pfx: asBuffer(pfx) }),
    ...(server.passphrase === undefined ? {} : { passphrase: server.passphrase }),
    ...(server.minVersion === undefined
      ? {}
      : { minVersion: server.minVersion as 'TLSv1.2' | 'TLSv1.3' }),
    ...(server.maxVersion === undefined
      ? {}
      : { maxVersion: server.maxVersion as 'TLSv1.2' | 'TLSv1.3' }),
    ...(server.ciphers === undefined ? {} : { ciphers: server.ciphers }),
  };
}

/** The mechanism and the broker's own user from the listener's JAAS config. */
function clientSasl(
  config: BrokerSecuritySource,
  listener: string,
  server: NonNullable<ListenerSecurity['sasl']>,
): InterBrokerSasl {
  const mechanismKey = 'sasl.mechanism.inter.broker.protocol';
  const given = (config.value(mechanismKey) ?? 'GSSAPI').trim();
  const mechanism = given.toUpperCase();
  if (mechanism === 'GSSAPI') {
    throw unsupportedConfig(
      mechanismKey,
      `the inter-broker listener ${listener} uses SASL and brokers would log in with GSSAPI (Kerberos, Kafka's default), which is not implemented: set ${mechanismKey} to ${SUPPORTED_SASL_MECHANISMS.join(', ')}`,
    );
  }
  if (!(SUPPORTED_SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw invalidConfig(
      mechanismKey,
      given,
      `not a supported mechanism (${SUPPORTED_SASL_MECHANISMS.join(', ')})`,
    );
  }
  if (!server.mechanisms.includes(mechanism)) {
    throw invalidConfig(
      mechanismKey,
      given,
      `${mechanismKey} must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication (listener ${listener} enables ${server.mechanisms.join(', ')})`,
    );
  }
  const key = `listener.name.${listener.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const module = mechanism === 'PLAIN' ? PLAIN_LOGIN_MODULE : SCRAM_LOGIN_MODULE;
  const text = config.setValue(key);
  if (text === undefined || text.trim() === '') {
    throw invalidConfig(
      key,
      '',
      `brokers log in to listener ${listener} with ${mechanism} as the user of this JAAS config: ${key}=${module} required username="<broker user>" password="<password>";`,
    );
  }
  let entries: ReturnType<typeof parseJaasConfig>;
  try {
    entries = parseJaasConfig(text);
  } catch (err) {
    throw invalidConfig(key, '(hidden)', (err as Error).message);
  }
  const entry = entries[0];
  if (entries.length !== 1 || entry === undefined) {
    throw invalidConfig(key, '(hidden)', `holds ${entries.length} login modules, not one`);
  }
  if (entry.loginModule !== PLAIN_LOGIN_MODULE && entry.loginModule !== SCRAM_LOGIN_MODULE) {
    throw invalidConfig(
      key,
      '(hidden)',
      `login module ${entry.loginModule} is not supported: use ${module}`,
    );
  }
  const username = entry.options.get('username') ?? '';
  const password = entry.options.get('password') ?? '';
  if (username === '' || password === '') {
    throw invalidConfig(
      key,
      '(hidden)',
      `needs the username and password options brokers log in to listener ${listener} with`,
    );
  }
  return { mechanism: mechanism as InterBrokerMechanism, username, password };
}
