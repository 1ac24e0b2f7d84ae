/**
 * How a broker connects to the others, against a real listener where it matters:
 * - the inter-broker client connection (src/client/lazy-connection.ts) logs in with the broker's
 *   SASL user, logs in again on the same connection before a session bounded by
 *   connections.max.reauth.ms ends (KIP-368), and fails its get() on a wrong password;
 * - the principal other brokers see this one as, which the start-time authorizer check asks
 *   ClusterAction for (src/broker/acl-wiring.ts), with certificates made by openssl.
 */
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { interBrokerPrincipal } from '../src/broker/acl-wiring.ts';
import { LazyConnection } from '../src/client/lazy-connection.ts';
import { BrokerConfig } from '../src/config/broker-config.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import { defaultMetadataRequest } from '../src/protocol/messages/metadata-request.ts';
import type { MetadataResponse } from '../src/protocol/messages/metadata-response.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

function load(values: Record<string, string>): BrokerConfig {
  return BrokerConfig.from(new Map(Object.entries(values)));
}

describe('the inter-broker principal the start-time authorizer check looks for', () => {
  let certs: TestCerts;
  const tls = () => ({
    listeners: 'SSL://127.0.0.1:9093',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.serverPem,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caPem,
  });

  before(async () => {
    requireOpenssl();
    certs = await makeTestCerts();
  });

  after(async () => {
    if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
  });

  it('PLAINTEXT, or TLS without client certificates: User:ANONYMOUS', () => {
    assert.equal(interBrokerPrincipal(load({})), 'User:ANONYMOUS');
    assert.equal(interBrokerPrincipal(load(tls())), 'User:ANONYMOUS');
  });

  it("mutual TLS: the subject of the keystore's certificate (unknown in a PKCS12 store)", () => {
    assert.equal(
      interBrokerPrincipal(load({ ...tls(), 'ssl.client.auth': 'required' })),
      'User:CN=localhost',
    );
    const p12 = {
      ...tls(),
      'ssl.client.auth': 'requested',
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': certs.serverP12,
      'ssl.keystore.password': certs.serverP12Password,
    };
    assert.equal(interBrokerPrincipal(load(p12)), null);
    // ssl.principal.mapping.rules apply to the brokers as to anyone.
    const mapped = load({
      ...tls(),
      'ssl.client.auth': 'required',
      'ssl.principal.mapping.rules': 'RULE:^CN=(.*)$/broker-$1/L',
    });
    assert.equal(interBrokerPrincipal(mapped), 'User:broker-localhost');
  });

  it('SASL: the user of the JAAS config, whatever the TLS', () => {
    const sasl = load({
      ...tls(),
      listeners: 'SASL_SSL://127.0.0.1:9093',
      'ssl.client.auth': 'required',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-256',
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="p";',
    });
    assert.equal(interBrokerPrincipal(sasl), 'User:broker');
  });
});

describe('the inter-broker connection over SASL', () => {
  /** The session lifetime the broker gives (connections.max.reauth.ms). */
  const REAUTH_MS = 300;
  let broker: InProcessBroker;

  before(async () => {
    // A single node whose only listener is SASL: its own transaction markers log in too.
    broker = await InProcessBroker.start({
      storage: 'memory',
      config: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'PLAIN',
        'sasl.mechanism.inter.broker.protocol': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config':
          'org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret";',
        'connections.max.reauth.ms': REAUTH_MS,
      },
    });
  });

  after(async () => {
    await broker?.stop();
  });

  const connection = (password: string) =>
    new LazyConnection(() => ({ host: broker.host, port: broker.port }), {
      clientId: 'inter-broker-test',
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      security: () => ({ sasl: { mechanism: 'PLAIN', username: 'broker', password } }),
    });
  const metadata = { ...defaultMetadataRequest(), topics: [] };

  it('logs in again on the same connection before the session ends, and goes on', async () => {
    const lazy = connection('broker-secret');
    try {
      const first = await lazy.get();
      await first.send<MetadataResponse>(ApiKey.Metadata, 9, metadata);
      // Past the end of the session: a request now would close the connection, unless the
      // client logged in again first.
      await new Promise((r) => setTimeout(r, REAUTH_MS + 100));
      const again = await lazy.get();
      assert.equal(again, first, 'the same connection');
      const md = await again.send<MetadataResponse>(ApiKey.Metadata, 9, metadata);
      assert.equal(md.brokers.length, 1);
      assert.equal(again.closed, false);
    } finally {
      await lazy.drop();
    }
  });

  it("a wrong password fails get() with the broker's error; the next get() tries again", async () => {
    const lazy = connection('wrong');
    try {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(lazy.get(), (err: unknown) => {
          assert.equal((err as { code?: number }).code, ErrorCode.SASL_AUTHENTICATION_FAILED);
          return true;
        });
      }
    } finally {
      await lazy.drop();
    }
  });
});
