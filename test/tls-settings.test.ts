/**
 * The TLS settings beyond certificates (issue 18), on a broker process with three TLS listeners:
 *
 * - `ssl.principal.mapping.rules`: a client certificate's subject CN=alice,OU=eng,O=example is
 *   mapped to User:alice (RULE:...$1/L); the authorizer, which lets only User:alice describe a
 *   topic, shows kcat that topic through that listener and not without the certificate; a
 *   listener whose rules match no subject refuses the client and logs why;
 * - `ssl.cipher.suites`: a listener restricted to TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (a TLS 1.2
 *   suite) negotiates TLS 1.2 with that suite even with a client that prefers TLS 1.3, and refuses
 *   a client offering only other suites; kcat connects through it;
 * - an unknown suite name or a malformed mapping rule stops the start, naming the setting.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Admin } from '../src/admin/index.ts';
import { BrokerExitedError, BrokerProcess, run } from '../src/testing/broker-process.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';
import { KCAT, requireKcat } from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';

const TOPIC = 'mapped-only';

function overrides(certs: TestCerts): Record<string, string> {
  return {
    listeners:
      'PLAINTEXT://127.0.0.1:0,MAPPED://127.0.0.1:0,NOMATCH://127.0.0.1:0,SUITES://127.0.0.1:0',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,MAPPED:SSL,NOMATCH:SSL,SUITES:SSL',
    'inter.broker.listener.name': 'PLAINTEXT',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.serverPem,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caPem,
    'ssl.client.auth': 'requested',
    'listener.name.mapped.ssl.principal.mapping.rules': 'RULE:^CN=([^,]*),.*$/$1/L,DEFAULT',
    'listener.name.nomatch.ssl.principal.mapping.rules': 'RULE:^CN=nobody,.*$/nobody/',
    'listener.name.suites.ssl.cipher.suites': 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS',
  };
}

async function kcatTopics(address: string, extra: readonly string[]) {
  const r = await run(KCAT, ['-L', '-b', address, '-m', '5', '-J', ...extra], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) return { ok: false, topics: [] as string[], output: r.stderr };
  const md = JSON.parse(r.stdout.toString()) as { topics: { topic: string }[] };
  return { ok: true, topics: md.topics.map((t) => t.topic), output: r.stderr };
}

describe('TLS principal mapping and cipher suites', () => {
  let certs: TestCerts;
  let broker: BrokerProcess;

  before(async () => {
    requireOpenssl();
    requireKcat();
    certs = await makeTestCerts();
    broker = await BrokerProcess.start({ overrides: overrides(certs) });
    const admin = new Admin({ bootstrapServers: [broker.bootstrap] });
    try {
      for (const name of [TOPIC, 'hidden-from-alice']) {
        await admin.createTopic({ name, partitions: 1, replicationFactor: 1, configs: new Map() });
      }
    } finally {
      await admin.close();
    }
    await kafkaTool('acls', [
      '--bootstrap-server',
      broker.bootstrap,
      '--add',
      '--allow-principal',
      'User:alice',
      '--operation',
      'Describe',
      '--topic',
      TOPIC,
    ]);
  });

  after(async () => {
    await broker?.cleanup();
    if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
  });

  const tls = (c: TestCerts) => ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${c.caPem}`];
  const withCert = (c: TestCerts) => [
    ...tls(c),
    '-X',
    `ssl.certificate.location=${c.clientCert}`,
    '-X',
    `ssl.key.location=${c.clientKey}`,
  ];

  it('a rule maps the certificate subject to User:alice, whom the ACL lets see the topic', {
    timeout: 60_000,
  }, async () => {
    const mapped = await kcatTopics(broker.listenerAddress('MAPPED'), withCert(certs));
    assert.ok(mapped.ok, mapped.output);
    assert.deepEqual(mapped.topics, [TOPIC]);
    const anonymous = await kcatTopics(broker.listenerAddress('MAPPED'), tls(certs));
    assert.ok(anonymous.ok, anonymous.output);
    // ANONYMOUS is a super user here (the brokers' own listener) and sees every topic; the
    // certificate made another principal, alice, who sees only hers (with the DEFAULT rule it
    // would be User:CN=alice,OU=eng,O=example, who sees nothing).
    assert.ok(anonymous.topics.includes('hidden-from-alice') && anonymous.topics.includes(TOPIC));
  });

  it('a subject no rule applies to is refused and logged', { timeout: 60_000 }, async () => {
    const refused = await kcatTopics(broker.listenerAddress('NOMATCH'), withCert(certs));
    assert.equal(refused.ok, false, refused.output);
    await broker.waitForStderr(/refusing TLS client .*No rules apply to CN=alice,OU=eng,O=example/);
  });

  it('ssl.cipher.suites: only the listed suite, and so TLS 1.2, is negotiated', {
    timeout: 60_000,
  }, async () => {
    const [host, port] = broker.listenerAddress('SUITES').split(':') as [string, string];
    const ca = readFileSync(certs.caPem);
    const negotiated = await new Promise<{ version: string | null; cipher: string }>(
      (resolve, reject) => {
        const s = tlsConnect({ host, port: Number(port), ca, servername: 'localhost' }, () => {
          resolve({ version: s.getProtocol(), cipher: s.getCipher().standardName });
          s.destroy();
        });
        s.once('error', reject);
      },
    );
    assert.deepEqual(negotiated, {
      version: 'TLSv1.2',
      cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    });
    const other = await new Promise<string>((resolve) => {
      const s = tlsConnect(
        {
          host,
          port: Number(port),
          ca,
          servername: 'localhost',
          maxVersion: 'TLSv1.2',
          ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
        },
        () => {
          resolve('connected');
          s.destroy();
        },
      );
      s.once('error', (err) => resolve(err.message));
    });
    assert.match(other, /handshake failure|no shared cipher|alert/i);
    const viaKcat = await kcatTopics(broker.listenerAddress('SUITES'), tls(certs));
    assert.ok(viaKcat.ok, viaKcat.output);
  });

  it('an unknown suite or a malformed rule stops the start, naming the setting', {
    timeout: 60_000,
  }, async () => {
    for (const [key, value, pattern] of [
      ['ssl.cipher.suites', 'TLS_MADE_UP_SUITE', /ssl\.cipher\.suites.*TLS_MADE_UP_SUITE/],
      ['ssl.principal.mapping.rules', 'RULE:^CN=(.*$/$1/', /ssl\.principal\.mapping\.rules/],
    ] as const) {
      await assert.rejects(
        BrokerProcess.start({
          overrides: {
            listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
            'inter.broker.listener.name': 'PLAINTEXT',
            'ssl.keystore.type': 'PEM',
            'ssl.keystore.location': certs.serverPem,
            [key]: value,
          },
        }),
        (err: unknown) => err instanceof BrokerExitedError && pattern.test(err.message),
      );
    }
  });
});
