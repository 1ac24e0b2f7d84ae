/**
 * The principal other brokers see this one as on the inter-broker listener, which the start-time
 * authorizer check asks ClusterAction for (src/broker/acl-wiring.ts): with certificates made by
 * openssl, as the TLS tests do.
 */
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { interBrokerPrincipal } from '../src/broker/acl-wiring.ts';
import { BrokerConfig } from '../src/config/broker-config.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';

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
