/**
 * Each listener's security, from the broker config as Kafka reads it: the protocol from
 * listener.security.protocol.map (or the listener's name), TLS settings from ssl.* with
 * listener.name.<listener>.ssl.* overrides, and SASL settings from sasl.enabled.mechanisms
 * (listener.name.<listener>.sasl.enabled.mechanisms overrides) and, for PLAIN, the users of
 * listener.name.<listener>.plain.sasl.jaas.config. Everything is checked when the config loads,
 * so that a broker never starts with a listener it would serve with less security than asked.
 */

import { readFileSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';
import { invalidConfig, type SecurityProtocol, securityProtocols } from '../config/config-def.ts';
import {
  type Listener,
  parseSecurityProtocolMap,
  protocolOfListener,
} from '../config/listeners.ts';
import { cipherChoice } from './cipher-suites.ts';
import { parseJaasConfig, plainUsers } from './plain.ts';
import { PrincipalMapper } from './principal-mapping.ts';
import type { CredentialLookup } from './scram.ts';
import type { SaslSettings } from './session.ts';

/** What the security of a listener needs from the broker config. */
export interface SecurityConfigSource {
  /** The value in force of a defined broker config, or null. */
  value(name: string): string | null;
  /** A key's value when set (dynamic for this broker, dynamic default, config file). */
  setValue(key: string): string | undefined;
}

export interface ListenerSecurity {
  readonly protocol: SecurityProtocol;
  /** TLS server options for SSL and SASL_SSL listeners; null otherwise. */
  readonly tls:
    | (TlsOptions & {
        readonly clientAuth: 'none' | 'requested' | 'required';
        /** ssl.principal.mapping.rules: a client certificate's subject to its user. */
        readonly principalMapper: PrincipalMapper;
      })
    | null;
  /** SASL settings for SASL_PLAINTEXT and SASL_SSL listeners; null otherwise. */
  readonly sasl: Omit<SaslSettings, 'scramCredentials'> | null;
}

export const SUPPORTED_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

/** A config for one listener: listener.name.<listener>.<key> first, then <key>. */
function listenerValue(src: SecurityConfigSource, listener: string, key: string): string | null {
  const override = src.setValue(`listener.name.${listener.toLowerCase()}.${key}`);
  if (override !== undefined && override.trim() !== '') return override.trim();
  return src.value(key);
}

function readFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw invalidConfig(
      key,
      path,
      `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

function tlsOptions(
  src: SecurityConfigSource,
  listener: string,
): NonNullable<ListenerSecurity['tls']> {
  const get = (key: string) => listenerValue(src, listener, key);
  const keystoreType = (get('ssl.keystore.type') ?? 'JKS').toUpperCase();
  const location = get('ssl.keystore.location');
  const inlineKey = get('ssl.keystore.key');
  const inlineChain = get('ssl.keystore.certificate.chain');
  const options: TlsOptions = {};
  if (inlineKey !== null || inlineChain !== null) {
    if (keystoreType !== 'PEM' || inlineKey === null || inlineChain === null) {
      throw invalidConfig(
        'ssl.keystore.key',
        '(hidden)',
        'an inline key needs ssl.keystore.certificate.chain beside it and ssl.keystore.type=PEM',
      );
    }
    options.key = inlineKey;
    options.cert = inlineChain;
  } else if (location === null) {
    throw invalidConfig(
      'ssl.keystore.location',
      '',
      `listener ${listener} uses TLS and needs a certificate and key: set ssl.keystore.location (PKCS12 or PEM) or listener.name.${listener.toLowerCase()}.ssl.keystore.location`,
    );
  } else if (keystoreType === 'PKCS12') {
    options.pfx = readFile('ssl.keystore.location', location);
    const password = get('ssl.keystore.password');
    if (password !== null) options.passphrase = password;
  } else if (keystoreType === 'PEM') {
    const pem = readFile('ssl.keystore.location', location);
    options.key = pem;
    options.cert = pem;
    const password = get('ssl.key.password');
    if (password !== null) options.passphrase = password;
  } else {
    throw invalidConfig(
      'ssl.keystore.type',
      keystoreType,
      'only PKCS12 and PEM keystores are supported (convert a JKS one: keytool -importkeystore -deststoretype PKCS12)',
    );
  }
  const clientAuth = (get('ssl.client.auth') ?? 'none') as 'none' | 'requested' | 'required';
  const trustLocation = get('ssl.truststore.location');
  const trustInline = get('ssl.truststore.certificates');
  const trustType = (get('ssl.truststore.type') ?? 'JKS').toUpperCase();
  if (trustInline !== null) options.ca = trustInline;
  else if (trustLocation !== null) {
    if (trustType !== 'PEM') {
      throw invalidConfig(
        'ssl.truststore.type',
        trustType,
        'only PEM truststores are supported (export the certificates: openssl pkcs12 -in store.p12 -nokeys)',
      );
    }
    options.ca = readFile('ssl.truststore.location', trustLocation);
  }
  if (clientAuth !== 'none' && options.ca === undefined) {
    throw invalidConfig(
      'ssl.client.auth',
      clientAuth,
      'client certificates need ssl.truststore.location or ssl.truststore.certificates to be checked against',
    );
  }
  Object.assign(options, versionsAndCiphers(get));
  const principalMapper = principalMapperOf(get);
  options.requestCert = clientAuth !== 'none';
  // "requested" lets a client without a certificate in; one that presents a bad certificate is
  // refused after the handshake (server.ts), as Kafka's SSLEngine with wantClientAuth does.
  options.rejectUnauthorized = clientAuth === 'required';
  return { ...options, clientAuth, principalMapper };
}

type ListenerGet = (key: string) => string | null;

/** ssl.enabled.protocols and ssl.cipher.suites: a version none of the suites serves is dropped. */
function versionsAndCiphers(get: ListenerGet): TlsOptions {
  const options: TlsOptions = {};
  let enabled = (get('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3')
    .split(',')
    .map((p) => p.trim())
    .sort();
  const suites = (get('ssl.cipher.suites') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (suites.length > 0) {
    let choice: ReturnType<typeof cipherChoice>;
    try {
      choice = cipherChoice(suites);
    } catch (err) {
      throw invalidConfig('ssl.cipher.suites', suites.join(','), (err as Error).message);
    }
    // As with Java's TLS, a version without any of the listed suites cannot be negotiated.
    enabled = enabled.filter((v) => (v === 'TLSv1.3' ? choice.tls13 : choice.tls12));
    if (enabled.length === 0) {
      throw invalidConfig(
        'ssl.cipher.suites',
        suites.join(','),
        'none of these suites belongs to a version in ssl.enabled.protocols',
      );
    }
    options.ciphers = choice.ciphers;
  }
  options.minVersion = enabled[0] as 'TLSv1.2' | 'TLSv1.3';
  options.maxVersion = enabled[enabled.length - 1] as 'TLSv1.2' | 'TLSv1.3';
  return options;
}

function principalMapperOf(get: ListenerGet): PrincipalMapper {
  const rules = get('ssl.principal.mapping.rules') ?? 'DEFAULT';
  try {
    return PrincipalMapper.parse(rules);
  } catch (err) {
    throw invalidConfig('ssl.principal.mapping.rules', rules, (err as Error).message);
  }
}

function saslSettings(
  src: SecurityConfigSource,
  listener: string,
): NonNullable<ListenerSecurity['sasl']> {
  const mechanismsValue = listenerValue(src, listener, 'sasl.enabled.mechanisms') ?? '';
  const mechanisms = mechanismsValue
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter((m) => m !== '');
  const unsupported = mechanisms.filter(
    (m) => !(SUPPORTED_SASL_MECHANISMS as readonly string[]).includes(m),
  );
  if (mechanisms.length === 0 || unsupported.length > 0) {
    throw invalidConfig(
      'sasl.enabled.mechanisms',
      mechanismsValue,
      `listener ${listener} uses SASL with ${unsupported.length > 0 ? `mechanisms not supported here (${unsupported.join(', ')})` : 'no mechanism'}: set sasl.enabled.mechanisms to some of ${SUPPORTED_SASL_MECHANISMS.join(', ')}`,
    );
  }
  let users = new Map<string, string>();
  if (mechanisms.includes('PLAIN')) {
    const key = `listener.name.${listener.toLowerCase()}.plain.sasl.jaas.config`;
    const jaas = src.setValue(key);
    if (jaas === undefined) {
      throw invalidConfig(
        key,
        '',
        `PLAIN on listener ${listener} needs its users: ${key}=org.apache.kafka.common.security.plain.PlainLoginModule required user_<name>="<password>" ...;`,
      );
    }
    try {
      users = plainUsers(parseJaasConfig(jaas));
    } catch (err) {
      throw invalidConfig(key, '(hidden)', (err as Error).message);
    }
    if (users.size === 0)
      throw invalidConfig(key, '(hidden)', 'no user_<name>="<password>" option');
  }
  return {
    mechanisms,
    plainUsers: users,
    reauthMs: Number(src.value('connections.max.reauth.ms') ?? '0'),
    failedDelayMs: Number(src.value('connection.failed.authentication.delay.ms') ?? '100'),
  };
}

/** The security of one listener; throws BRK_CONFIG_INVALID naming the key at fault. */
export function listenerSecurity(
  src: SecurityConfigSource,
  listener: Listener,
  protocolMap: ReadonlyMap<string, SecurityProtocol>,
): ListenerSecurity {
  const protocol = protocolOfListener(listener.name, protocolMap);
  if (protocol === undefined) {
    throw invalidConfig(
      'listeners',
      listener.name,
      `listener ${listener.name} has no security protocol: name it after one (${securityProtocols.join(', ')}) or map it in listener.security.protocol.map`,
    );
  }
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  return {
    protocol,
    tls: usesTls ? tlsOptions(src, listener.name) : null,
    sasl: usesSasl ? saslSettings(src, listener.name) : null,
  };
}

/** The SASL settings of a listener with the store's SCRAM credentials, for its connections. */
export function withCredentials(
  sasl: NonNullable<ListenerSecurity['sasl']>,
  scramCredentials: CredentialLookup,
): SaslSettings {
  return { ...sasl, scramCredentials };
}

/** What resolving every listener needs: the config values and the typed settings. */
export interface BrokerSecuritySource extends SecurityConfigSource {
  readonly settings: {
    readonly listeners: readonly Listener[];
    readonly listenerSecurityProtocolMap: string;
  };
}

/**
 * Every listener's security, checked before the broker opens anything: keystores readable, SASL
 * mechanisms supported, PLAIN users given (the inter-broker side: inter-broker.ts). Throws
 * BRK_CONFIG_INVALID naming the key.
 */
export function resolveListenerSecurity(
  config: BrokerSecuritySource,
): ReadonlyMap<string, ListenerSecurity> {
  const s = config.settings;
  const map = parseSecurityProtocolMap(s.listenerSecurityProtocolMap);
  return new Map(s.listeners.map((l) => [l.name, listenerSecurity(config, l, map)]));
}
