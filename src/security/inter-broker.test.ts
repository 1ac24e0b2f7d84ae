import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TributaryError } from '../common/errors.ts';
import { BrokerConfig } from '../config/broker-config.ts';
import { interBrokerListenerName, resolveInterBrokerSecurity } from './inter-broker.ts';
import { resolveListenerSecurity } from './listener-security.ts';

const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const PLAIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SECRET = 'broker-secret-42';
/** Inline PEM (not parsed here: resolution only builds the options). */
const TLS = {
  'ssl.keystore.type': 'PEM',
  'ssl.keystore.key': 'KEY PEM',
  'ssl.keystore.certificate.chain': 'CHAIN PEM',
  'ssl.truststore.type': 'PEM',
  'ssl.truststore.certificates': 'CA PEM',
};

function load(values: Record<string, string>): BrokerConfig {
  return BrokerConfig.from(new Map(Object.entries(values)));
}

function resolve(values: Record<string, string>) {
  const config = load(values);
  return resolveInterBrokerSecurity(config, resolveListenerSecurity(config));
}

/** Resolving `values` fails with BRK_CONFIG_INVALID on one line naming `key`, without SECRET. */
function refused(values: Record<string, string>, key: string, reason: RegExp): void {
  assert.throws(
    () => resolve(values),
    (err: unknown) => {
      assert.ok(err instanceof TributaryError && err.code === 'BRK_CONFIG_INVALID', String(err));
      assert.ok(err.message.includes(`onfiguration ${key}`), `${err.message} names ${key}`);
      assert.match(err.message, reason);
      assert.ok(!err.message.includes(SECRET), 'the password is never printed');
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    },
  );
}

function without(values: Record<string, string>, key: string): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => k !== key));
}

const saslSsl = (extra: Record<string, string> = {}) => ({
  listeners: 'CLIENTS://127.0.0.1:9092,INTERNAL://127.0.0.1:9093',
  'listener.security.protocol.map': 'CLIENTS:SASL_SSL,INTERNAL:SASL_SSL',
  'inter.broker.listener.name': 'internal',
  'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
  'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
  'listener.name.internal.scram-sha-512.sasl.jaas.config': `${SCRAM} required username="broker" password="${SECRET}";`,
  ...TLS,
  ...extra,
});

describe('the inter-broker listener and its security', () => {
  it('is the first listener when nothing names it, and plaintext there', () => {
    const s = resolve({ listeners: 'PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093', ...TLS });
    assert.deepEqual(s, { listener: 'PLAINTEXT', protocol: 'PLAINTEXT' });
  });

  it('inter.broker.listener.name (any case) or security.inter.broker.protocol name it; not both', () => {
    const named = load({ ...saslSsl() });
    assert.equal(interBrokerListenerName(named.settings), 'INTERNAL');
    const byProtocol = resolve({
      listeners: 'PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093',
      'security.inter.broker.protocol': 'sasl_plaintext',
      'sasl.enabled.mechanisms': 'PLAIN',
      'sasl.mechanism.inter.broker.protocol': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': `${PLAIN} required username="broker" password="${SECRET}" user_broker="${SECRET}" user_alice="a";`,
    });
    assert.deepEqual(byProtocol, {
      listener: 'SASL_PLAINTEXT',
      protocol: 'SASL_PLAINTEXT',
      sasl: { mechanism: 'PLAIN', username: 'broker', password: SECRET },
    });
    refused(
      saslSsl({ 'security.inter.broker.protocol': 'SASL_SSL' }),
      'security.inter.broker.protocol',
      /Only one of inter.broker.listener.name and security.inter.broker.protocol/,
    );
    refused(
      saslSsl({ 'inter.broker.listener.name': 'REPLICATION' }),
      'inter.broker.listener.name',
      /must be one of the listeners \(CLIENTS, INTERNAL\)/,
    );
    refused(
      { listeners: 'PLAINTEXT://127.0.0.1:9092', 'security.inter.broker.protocol': 'SSL' },
      'security.inter.broker.protocol',
      /must be one of the listeners/,
    );
    assert.throws(() => load({ 'security.inter.broker.protocol': 'TLS' }), /not a security/);
  });

  it("SASL_SSL: the listener's keystore, truststore and host name check, and its JAAS user", () => {
    const s = resolve(saslSsl());
    assert.equal(s.listener, 'INTERNAL');
    assert.equal(s.protocol, 'SASL_SSL');
    assert.deepEqual(s.sasl, { mechanism: 'SCRAM-SHA-512', username: 'broker', password: SECRET });
    assert.equal(s.tls?.checkHostname, true);
    assert.equal(s.tls?.ca?.toString(), 'CA PEM');
    assert.equal(s.tls?.cert?.toString(), 'CHAIN PEM');
    assert.equal(s.tls?.key?.toString(), 'KEY PEM');
    assert.equal(s.tls?.minVersion, 'TLSv1.2');
    assert.equal(s.tls?.maxVersion, 'TLSv1.3');
    // The listener's own TLS settings win over the broker-wide ones.
    const own = resolve(
      saslSsl({
        'listener.name.internal.ssl.truststore.certificates': 'INTERNAL CA',
        'listener.name.internal.ssl.enabled.protocols': 'TLSv1.3',
      }),
    );
    assert.equal(own.tls?.ca?.toString(), 'INTERNAL CA');
    assert.equal(own.tls?.minVersion, 'TLSv1.3');
    const suites = resolve(saslSsl({ 'ssl.cipher.suites': 'TLS_AES_128_GCM_SHA256' }));
    assert.equal(typeof suites.tls?.ciphers, 'string', 'the listed suites only');
  });

  it('ssl.endpoint.identification.algorithm: https by default, empty turns the check off', () => {
    assert.equal(
      resolve(saslSsl({ 'ssl.endpoint.identification.algorithm': '' })).tls?.checkHostname,
      false,
    );
    assert.equal(
      resolve(saslSsl({ 'listener.name.internal.ssl.endpoint.identification.algorithm': '' })).tls
        ?.checkHostname,
      false,
    );
    assert.equal(
      resolve(saslSsl({ 'ssl.endpoint.identification.algorithm': 'HTTPS' })).tls?.checkHostname,
      true,
    );
    assert.throws(
      () => load({ 'ssl.endpoint.identification.algorithm': 'ldaps' }),
      /ssl\.endpoint\.identification\.algorithm.*only https/,
    );
  });

  it('SSL with a PKCS12 keystore: the store and its password are the client certificate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-inter-broker-'));
    try {
      const p12 = join(dir, 'broker.p12');
      await writeFile(p12, Buffer.from([1, 2, 3]));
      const s = resolve({
        listeners: 'SSL://127.0.0.1:9093',
        'ssl.keystore.type': 'PKCS12',
        'ssl.keystore.location': p12,
        'ssl.keystore.password': 'store-secret',
        'ssl.client.auth': 'required',
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.certificates': 'CA PEM',
      });
      assert.equal(s.protocol, 'SSL');
      assert.equal(s.sasl, undefined);
      assert.deepEqual(s.tls?.pfx, Buffer.from([1, 2, 3]));
      assert.equal(s.tls?.passphrase, 'store-secret');
      assert.equal(s.tls?.cert, undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("GSSAPI, Kafka's default mechanism, is refused; so is one the listener does not enable", () => {
    const gssapi = without(saslSsl(), 'sasl.mechanism.inter.broker.protocol');
    assert.throws(
      () => resolve(gssapi),
      /Configuration sasl\.mechanism\.inter\.broker\.protocol is not supported yet: .*GSSAPI/,
    );
    refused(
      saslSsl({ 'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-256' }),
      'sasl.mechanism.inter.broker.protocol',
      /must be included in sasl.enabled.mechanisms .*enables SCRAM-SHA-512/,
    );
    refused(
      saslSsl({ 'sasl.mechanism.inter.broker.protocol': 'OAUTHBEARER' }),
      'sasl.mechanism.inter.broker.protocol',
      /not a supported mechanism/,
    );
  });

  it("the broker's user: the JAAS config of the listener and mechanism, with both options", () => {
    const key = 'listener.name.internal.scram-sha-512.sasl.jaas.config';
    const missing = without(saslSsl(), key);
    refused(missing, key, /username="<broker user>" password="<password>"/);
    refused(
      saslSsl({ [key]: `${SCRAM} required username="broker";` }),
      key,
      /username and password/,
    );
    refused(
      saslSsl({
        [key]: `com.sun.security.auth.module.Krb5LoginModule required password="${SECRET}";`,
      }),
      key,
      /Krb5LoginModule is not supported/,
    );
    refused(
      saslSsl({ [key]: `${SCRAM} required username="a" password="${SECRET}"; ${SCRAM} required;` }),
      key,
      /2 login modules/,
    );
    refused(saslSsl({ [key]: `${SCRAM} required password="${SECRET}"` }), key, /does not end/);
    // PlainLoginModule's options are read the same way (Kafka reads the subject's credentials).
    const plainModule = resolve(
      saslSsl({ [key]: `${PLAIN} required username="broker" password="${SECRET}";` }),
    );
    assert.equal(plainModule.sasl?.username, 'broker');
  });
});
