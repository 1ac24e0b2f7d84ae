/**
 * TLS and SASL with real clients (issue 18): one broker process with four listeners (PLAINTEXT
 * for the brokers' own traffic, SSL with a PKCS12 keystore and client certificates requested,
 * SASL_PLAINTEXT, SASL_SSL with a PEM keystore), certificates made by openssl. kcat (librdkafka)
 * produces and consumes over each; a client certificate signed by the CA is let in and one no CA
 * vouches for is not; PLAIN users come from the listener's JAAS config and a wrong password is
 * refused with Kafka's message; SCRAM-SHA-256/512 users are created with Kafka 3.9's own
 * kafka-configs (AlterUserScramCredentials), described, used by kcat and kafkajs, deleted, and
 * kept across a restart; before authenticating, a SASL connection gets nothing but ApiVersions and
 * the SASL exchange. In a 2-broker ZooKeeper cluster a user created through one broker logs in on
 * the other (/config/users).
 */
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { DescribeUserScramCredentialsResponse } from '../src/protocol/messages/describe-user-scram-credentials-response.ts';
import { BrokerProcess, describeRun, run } from '../src/testing/broker-process.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';
import { KCAT, kcatConsume, kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';
import { ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const JAAS = (users: Record<string, string>) =>
  `org.apache.kafka.common.security.plain.PlainLoginModule required ${Object.entries(users)
    .map(([u, p]) => `user_${u}="${p}"`)
    .join(' ')};`;

function securityOverrides(certs: TestCerts): Record<string, string> {
  return {
    listeners:
      'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    'inter.broker.listener.name': 'PLAINTEXT',
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': certs.serverP12,
    'ssl.keystore.password': certs.serverP12Password,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caPem,
    'ssl.client.auth': 'requested',
    // The SASL_SSL listener has its own (PEM) keystore.
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': certs.serverPem,
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': JAAS({ alice: 'alice-secret' }),
    'listener.name.sasl_ssl.plain.sasl.jaas.config': JAAS({ alice: 'alice-secret' }),
    'connection.failed.authentication.delay.ms': '50',
  };
}

const tls = (certs: TestCerts) => [
  '-X',
  'security.protocol=SSL',
  '-X',
  `ssl.ca.location=${certs.caPem}`,
];
const sasl = (protocol: string, mechanism: string, user: string, password: string) => [
  '-X',
  `security.protocol=${protocol}`,
  '-X',
  `sasl.mechanisms=${mechanism}`,
  '-X',
  `sasl.username=${user}`,
  '-X',
  `sasl.password=${password}`,
];

const MAIN = new URL('../src/main.js', import.meta.url).href;

/** Tributary's CLI, as `tributary ARGS`. */
function cli(args: readonly string[]) {
  const script = `const { main } = await import(${JSON.stringify(MAIN)});\nawait main(process.argv.slice(1));`;
  return run(process.execPath, ['--input-type=module', '-e', script, ...args], {
    timeoutMs: 60_000,
  });
}

/** kcat -L against an address with these settings: its exit and what it printed. */
async function kcatMetadata(address: string, extra: readonly string[]) {
  const r = await run(KCAT, ['-L', '-b', address, '-m', '5', ...extra], { timeoutMs: 30_000 });
  return { ok: r.code === 0, output: `${r.stdout.toString()}${r.stderr.toString()}` };
}

async function setScram(bootstrap: string, user: string, spec: string): Promise<string> {
  return kafkaTool('configs', [
    '--bootstrap-server',
    bootstrap,
    '--alter',
    '--add-config',
    spec,
    '--entity-type',
    'users',
    '--entity-name',
    user,
  ]);
}

/** kafkajs (in a child process) produces one record with SCRAM-SHA-256 over SASL_PLAINTEXT. */
async function kafkajsScram(address: string, user: string, password: string) {
  const script = `
    import kafkajs from 'kafkajs';
    const kafka = new kafkajs.Kafka({ brokers: [${JSON.stringify(address)}], logLevel: 0,
      sasl: { mechanism: 'scram-sha-256', username: ${JSON.stringify(user)}, password: ${JSON.stringify(password)} },
      retry: { retries: 1 } });
    const producer = kafka.producer();
    try {
      await producer.connect();
      await producer.send({ topic: 'secured', messages: [{ value: 'from kafkajs' }] });
      console.log('sent');
    } catch (e) { console.log('failed: ' + e.message); }
    await producer.disconnect().catch(() => {});`;
  const r = await run(process.execPath, ['--input-type=module', '-e', script], {
    timeoutMs: 60_000,
  });
  return r.stdout.toString().trim();
}

describe('TLS and SASL on one broker', () => {
  let certs: TestCerts;
  let renewed: TestCerts | undefined;
  let broker: BrokerProcess;

  before(async () => {
    requireKcat();
    requireOpenssl();
    certs = await makeTestCerts();
    broker = await BrokerProcess.start({ overrides: securityOverrides(certs) });
  });

  after(async () => {
    await broker?.cleanup();
    for (const c of [certs, renewed])
      if (c !== undefined) await rm(c.dir, { recursive: true, force: true });
  });

  it('SSL: kcat produces and consumes; a client certificate from the CA is let in, a stranger is not', {
    timeout: 60_000,
  }, async () => {
    const ssl = broker.listenerAddress('SSL');
    await kcatProduce(ssl, 'secured', 'over tls\n', { extra: tls(certs) });
    const { records } = await kcatConsume(ssl, 'secured', { extra: tls(certs) });
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['over tls'],
    );
    const withCert = await kcatMetadata(ssl, [
      ...tls(certs),
      '-X',
      `ssl.certificate.location=${certs.clientCert}`,
      '-X',
      `ssl.key.location=${certs.clientKey}`,
    ]);
    assert.ok(withCert.ok, withCert.output);
    const stranger = await kcatMetadata(ssl, [
      ...tls(certs),
      '-X',
      `ssl.certificate.location=${certs.strangerCert}`,
      '-X',
      `ssl.key.location=${certs.strangerKey}`,
    ]);
    assert.equal(stranger.ok, false, stranger.output);
    // Plaintext on the TLS port gets nowhere.
    const plain = await kcatMetadata(ssl, []);
    assert.equal(plain.ok, false, plain.output);
  });

  it('a new keystore set with kafka-configs serves new connections without a restart; a bad one is refused', {
    timeout: 120_000,
  }, async () => {
    // Another CA: clients that trust only it tell the certificates apart. Kept until the end:
    // the broker reads the new keystore again when it restarts (a later test).
    renewed = await makeTestCerts();
    {
      const ssl = broker.listenerAddress('SSL');
      const alter = (config: string, entity: string[] = ['--entity-name', '0']) =>
        kafkaTool('configs', [
          '--bootstrap-server',
          broker.bootstrap,
          '--entity-type',
          'brokers',
          ...entity,
          '--alter',
          '--add-config',
          config,
        ]).catch((err: unknown) => String(err));
      const bad = await alter('listener.name.ssl.ssl.keystore.location=/nonexistent.p12');
      assert.match(bad, /SSLFactory|cannot be read/);
      const atDefault = await alter(
        `listener.name.ssl.ssl.keystore.location=${renewed.serverP12}`,
        ['--entity-default'],
      );
      assert.match(atDefault, /broker id must be specified/);
      assert.equal(
        (await kcatMetadata(ssl, tls(certs))).ok,
        true,
        'the old certificate still serves',
      );
      const done = await alter(
        `listener.name.ssl.ssl.keystore.location=${renewed.serverP12},listener.name.ssl.ssl.keystore.password=${renewed.serverP12Password}`,
      );
      assert.match(done, /Completed updating config for broker 0/);
      const withNew = await kcatMetadata(ssl, tls(renewed));
      assert.ok(withNew.ok, withNew.output);
      const withOld = await kcatMetadata(ssl, tls(certs));
      assert.equal(withOld.ok, false, 'the old CA no longer matches the certificate served');
    }
  });

  it('SASL PLAIN over SASL_PLAINTEXT and SASL_SSL; a wrong password is refused', {
    timeout: 60_000,
  }, async () => {
    const saslPlain = broker.listenerAddress('SASL_PLAINTEXT');
    const saslSsl = broker.listenerAddress('SASL_SSL');
    await kcatProduce(saslPlain, 'secured', 'plain user\n', {
      extra: sasl('SASL_PLAINTEXT', 'PLAIN', 'alice', 'alice-secret'),
    });
    const { records } = await kcatConsume(saslSsl, 'secured', {
      extra: [
        ...sasl('SASL_SSL', 'PLAIN', 'alice', 'alice-secret'),
        '-X',
        `ssl.ca.location=${certs.caPem}`,
      ],
    });
    assert.ok(records.some((r) => r.value?.toString() === 'plain user'));
    const wrong = await kcatMetadata(saslPlain, sasl('SASL_PLAINTEXT', 'PLAIN', 'alice', 'nope'));
    assert.equal(wrong.ok, false);
    assert.match(wrong.output, /Authentication failed: Invalid username or password/);
    const unknownMechanism = await kcatMetadata(
      saslPlain,
      sasl('SASL_PLAINTEXT', 'OAUTHBEARER', 'alice', 'x'),
    );
    assert.equal(unknownMechanism.ok, false);
  });

  it('before authenticating, a SASL connection is closed on anything but ApiVersions and SASL', async () => {
    const [host, port] = broker.listenerAddress('SASL_PLAINTEXT').split(':');
    const client = await WireClient.connect(host as string, Number(port));
    try {
      await assert.rejects(
        client.request(ApiKey.Metadata, 9, {
          topics: null,
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        }),
      );
    } finally {
      await client.close().catch(() => undefined);
    }
  });

  it('SCRAM users made with kafka-configs log in with kcat and kafkajs, are described, deleted, and kept across a restart', {
    timeout: 180_000,
  }, async () => {
    const admin = broker.bootstrap;
    assert.match(
      await setScram(
        admin,
        'bob',
        'SCRAM-SHA-256=[iterations=8192,password=bob-secret],SCRAM-SHA-512=[password=bob-secret]',
      ),
      /Completed updating config for user bob/,
    );
    const saslPlain = broker.listenerAddress('SASL_PLAINTEXT');
    const saslSsl = broker.listenerAddress('SASL_SSL');
    await kcatProduce(saslSsl, 'secured', 'scram 256\n', {
      extra: [
        ...sasl('SASL_SSL', 'SCRAM-SHA-256', 'bob', 'bob-secret'),
        '-X',
        `ssl.ca.location=${certs.caPem}`,
      ],
    });
    const ok512 = await kcatMetadata(
      saslPlain,
      sasl('SASL_PLAINTEXT', 'SCRAM-SHA-512', 'bob', 'bob-secret'),
    );
    assert.ok(ok512.ok, ok512.output);
    const wrong = await kcatMetadata(
      saslPlain,
      sasl('SASL_PLAINTEXT', 'SCRAM-SHA-256', 'bob', 'nope'),
    );
    assert.equal(wrong.ok, false);
    assert.match(wrong.output, /invalid credentials with SASL mechanism SCRAM-SHA-256/);
    assert.equal(await kafkajsScram(saslPlain, 'bob', 'bob-secret'), 'sent');
    // Tributary's own CLI over SASL_SSL with SCRAM, from a client properties file in Kafka's
    // names (sasl.jaas.config) and in librdkafka's (sasl.username / sasl.password).
    const props = join(certs.dir, 'client.properties');
    await writeFile(
      props,
      [
        'security.protocol=SASL_SSL',
        'sasl.mechanism=SCRAM-SHA-512',
        `ssl.truststore.type=PEM`,
        `ssl.truststore.location=${certs.caPem}`,
        'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="bob-secret";',
      ].join('\n'),
    );
    const listed = await cli([
      'topics',
      'list',
      '--bootstrap-server',
      saslSsl,
      '--command-config',
      props,
    ]);
    assert.equal(listed.code, 0, describeRun(listed));
    assert.match(listed.stdout.toString(), /secured/);
    await writeFile(
      props,
      [
        'security.protocol=SASL_PLAINTEXT',
        'sasl.mechanisms=SCRAM-SHA-256',
        'sasl.username=bob',
        'sasl.password=wrong',
      ].join('\n'),
    );
    const refused = await cli([
      'topics',
      'list',
      '--bootstrap-server',
      saslPlain,
      '--command-config',
      props,
    ]);
    assert.equal(refused.code, 1, describeRun(refused));
    assert.match(refused.stderr.toString(), /SASL_AUTHENTICATION_FAILED/);
    assert.match(await kafkajsScram(saslPlain, 'bob', 'wrong'), /^failed/);

    const [host, port] = admin.split(':');
    const wire = await WireClient.connect(host as string, Number(port));
    try {
      const described = await wire.request<DescribeUserScramCredentialsResponse>(
        ApiKey.DescribeUserScramCredentials,
        0,
        { users: [{ name: 'bob' }, { name: 'nobody' }] },
      );
      assert.deepEqual(
        described.results.map((r) => [
          r.user,
          r.errorCode,
          r.credentialInfos.map((c) => [c.mechanism, c.iterations]),
        ]),
        [
          [
            'bob',
            0,
            [
              [1, 8192],
              [2, 4096],
            ],
          ],
          ['nobody', ErrorCode.RESOURCE_NOT_FOUND, []],
        ],
      );
    } finally {
      await wire.close();
    }

    await kafkaTool('configs', [
      '--bootstrap-server',
      admin,
      '--alter',
      '--delete-config',
      'SCRAM-SHA-512',
      '--entity-type',
      'users',
      '--entity-name',
      'bob',
    ]);
    const deleted = await kcatMetadata(
      saslPlain,
      sasl('SASL_PLAINTEXT', 'SCRAM-SHA-512', 'bob', 'bob-secret'),
    );
    assert.equal(deleted.ok, false, 'SCRAM-SHA-512 deleted');

    await broker.restart();
    const after256 = await kcatMetadata(
      broker.listenerAddress('SASL_PLAINTEXT'),
      sasl('SASL_PLAINTEXT', 'SCRAM-SHA-256', 'bob', 'bob-secret'),
    );
    assert.ok(after256.ok, `kept across a restart: ${after256.output}`);
  });
});

describe('SCRAM users in a ZooKeeper cluster', () => {
  let zookeeper: ZooKeeperServer;
  let cluster: ZkCluster | undefined;

  before(async () => {
    requireKcat();
    zookeeper = await ZooKeeperServer.start();
  });

  after(async () => {
    await cluster?.stop();
    await zookeeper?.stop();
  });

  it('a user created through one broker logs in on the other', { timeout: 120_000 }, async () => {
    cluster = await ZkCluster.start(zookeeper, 2, {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'inter.broker.listener.name': 'PLAINTEXT',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    });
    await setScram(cluster.broker(1).bootstrap, 'carol', 'SCRAM-SHA-512=[password=carol-secret]');
    const other = cluster.broker(2).listenerAddress('SASL_PLAINTEXT');
    const login = await kcatMetadata(
      other,
      sasl('SASL_PLAINTEXT', 'SCRAM-SHA-512', 'carol', 'carol-secret'),
    );
    assert.ok(login.ok, login.output);
    assert.match(login.output, /2 brokers/);
  });
});
