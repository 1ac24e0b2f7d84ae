/**
 * The client libraries over every secured connection (issue 18): confluent-kafka and kafka-python
 * (Debian's and the current PyPI releases), kafkajs and @platformatic/kafka each produce, consume
 * in a group and commit over SSL with server authentication, over mutual TLS (a listener with
 * ssl.client.auth=required), and with SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over both
 * SASL_PLAINTEXT and SASL_SSL. A wrong password, an unknown user, a client certificate from
 * another CA and no client certificate where one is required are each refused, with the error
 * Kafka gives where the client shows one, and each refusal is in the broker's log. kcat is covered
 * in security.test.ts.
 */
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BrokerProcess, run } from '../src/testing/broker-process.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';
import {
  fixture,
  PYTHON,
  pythonReport,
  requireConfluentKafka,
  requireKafkaPython,
} from '../src/testing/clients.ts';
import { kafkaTool, venvPython } from '../src/testing/reference-clients.ts';
import type { CaseReport, SecureCase } from '../src/testing/secure-client-child.ts';

const CHILD = fileURLToPath(new URL('../src/testing/secure-client-child.js', import.meta.url));
const RECORDS = Array.from({ length: 10 }, (_, i) => `v${i}`);

const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";';

function overrides(certs: TestCerts): Record<string, string> {
  return {
    listeners:
      'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    'listener.security.protocol.map':
      'PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'inter.broker.listener.name': 'PLAINTEXT',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.serverPem,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caPem,
    'listener.name.mtls.ssl.client.auth': 'required',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
    'listener.name.sasl_ssl.plain.sasl.jaas.config': PLAIN_JAAS,
    'connection.failed.authentication.delay.ms': '20',
    'group.initial.rebalance.delay.ms': '0',
    'offsets.topic.num.partitions': '3',
  };
}

describe('client libraries over SSL, mutual TLS and SASL', { concurrency: true }, () => {
  let certs: TestCerts;
  let broker: BrokerProcess;
  let good: SecureCase[];
  let bad: SecureCase[];

  before(async () => {
    requireOpenssl();
    requireConfluentKafka();
    requireKafkaPython();
    venvPython();
    certs = await makeTestCerts();
    broker = await BrokerProcess.start({ overrides: overrides(certs) });
    await kafkaTool('configs', [
      '--bootstrap-server',
      broker.bootstrap,
      '--alter',
      '--add-config',
      'SCRAM-SHA-256=[iterations=4096,password=bob-secret],SCRAM-SHA-512=[password=bob-secret]',
      '--entity-type',
      'users',
      '--entity-name',
      'bob',
    ]);
    const address = (listener: string) => broker.listenerAddress(listener);
    const tls = { ca: certs.caPem };
    const mutual = { ...tls, cert: certs.clientCert, key: certs.clientKey };
    const sasl = (
      mechanism: NonNullable<SecureCase['mechanism']>,
      user: string,
      password: string,
    ) => ({
      mechanism,
      user,
      password,
    });
    good = [
      { name: 'ssl', bootstrap: address('SSL'), protocol: 'SSL', ...tls, expect: 'ok' },
      { name: 'mtls', bootstrap: address('MTLS'), protocol: 'SSL', ...mutual, expect: 'ok' },
    ];
    for (const [mechanism, user, password] of [
      ['PLAIN', 'alice', 'alice-secret'],
      ['SCRAM-SHA-256', 'bob', 'bob-secret'],
      ['SCRAM-SHA-512', 'bob', 'bob-secret'],
    ] as const) {
      const short = mechanism.toLowerCase().replaceAll('-', '');
      good.push({
        name: `${short}-plaintext`,
        bootstrap: address('SASL_PLAINTEXT'),
        protocol: 'SASL_PLAINTEXT',
        ...sasl(mechanism, user, password),
        expect: 'ok',
      });
      good.push({
        name: `${short}-ssl`,
        bootstrap: address('SASL_SSL'),
        protocol: 'SASL_SSL',
        ...sasl(mechanism, user, password),
        ...tls,
        expect: 'ok',
      });
    }
    bad = [
      {
        name: 'plain-wrong-password',
        bootstrap: address('SASL_PLAINTEXT'),
        protocol: 'SASL_PLAINTEXT',
        ...sasl('PLAIN', 'alice', 'not-her-password'),
        expect: 'fail',
      },
      {
        name: 'scram-wrong-password',
        bootstrap: address('SASL_SSL'),
        protocol: 'SASL_SSL',
        ...sasl('SCRAM-SHA-256', 'bob', 'not-his-password'),
        ...tls,
        expect: 'fail',
      },
      {
        name: 'scram-unknown-user',
        bootstrap: address('SASL_PLAINTEXT'),
        protocol: 'SASL_PLAINTEXT',
        ...sasl('SCRAM-SHA-512', 'mallory', 'whatever'),
        expect: 'fail',
      },
      {
        name: 'stranger-certificate',
        bootstrap: address('MTLS'),
        protocol: 'SSL',
        ca: certs.caPem,
        cert: certs.strangerCert,
        key: certs.strangerKey,
        expect: 'fail',
      },
      {
        name: 'no-certificate',
        bootstrap: address('MTLS'),
        protocol: 'SSL',
        ca: certs.caPem,
        expect: 'fail',
      },
    ];
  });

  after(async () => {
    await broker?.cleanup();
    if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
  });

  /** Checks one client's report: every good case round-tripped, every bad one was refused. */
  function check(client: string, report: Record<string, CaseReport>, authError: RegExp): void {
    for (const c of good) {
      const r = report[c.name];
      assert.ok(r !== undefined && !('error' in r), `${client} ${c.name}: ${JSON.stringify(r)}`);
      assert.deepEqual(r.consumed, RECORDS, `${client} ${c.name}: the records read back`);
      assert.equal(r.committed, RECORDS.length, `${client} ${c.name}: the committed offset`);
    }
    for (const c of bad) {
      const r = report[c.name];
      assert.ok(
        r !== undefined && 'error' in r,
        `${client} ${c.name} was let in: ${JSON.stringify(r)}`,
      );
      if (c.mechanism !== undefined) {
        assert.match(r.error, authError, `${client} ${c.name}: the error it shows`);
      }
    }
  }

  async function python(python: string, client: string): Promise<Record<string, CaseReport>> {
    const r = await run(
      python,
      ['-u', fixture('secure_roundtrip.py'), client, JSON.stringify([...good, ...bad])],
      {
        timeoutMs: 240_000,
      },
    );
    return pythonReport<Record<string, CaseReport>>(r);
  }

  async function node(client: string): Promise<Record<string, CaseReport>> {
    const r = await run(process.execPath, [CHILD, client, JSON.stringify([...good, ...bad])], {
      timeoutMs: 240_000,
    });
    return pythonReport<Record<string, CaseReport>>(r);
  }

  // librdkafka passes Kafka's error message on; kafka-python names the error code.
  const LIBRDKAFKA_AUTH = /Authentication failed|SASL authentication error/;
  // kafka-python 3 retries a refused bootstrap until its bootstrap timeout and then raises only
  // a timeout; the refusal it saw is taken from its log. On a loaded machine the window can close
  // before an attempt got its answer: then the timeout alone is what it shows (it was not let in).
  const KAFKA_PYTHON_AUTH = /SaslAuthenticationFailed|Authentication failed|Unable to bootstrap/;
  // kafka-python 2.0 sends its SASL tokens raw after SaslHandshake v0; Kafka answers a failed
  // raw exchange by closing the connection, with no message, and so does Tributary.
  const KAFKA_PYTHON_2_0_AUTH = /<authenticating>.*Error receiving reply from server/;

  it('confluent-kafka (Debian, librdkafka 2.0)', { timeout: 300_000 }, async () => {
    check('confluent-kafka', await python(PYTHON, 'confluent'), LIBRDKAFKA_AUTH);
  });

  it('confluent-kafka (PyPI, librdkafka 2.x)', { timeout: 300_000 }, async () => {
    check('confluent-kafka (PyPI)', await python(venvPython(), 'confluent'), LIBRDKAFKA_AUTH);
  });

  it('kafka-python (Debian)', { timeout: 300_000 }, async () => {
    check('kafka-python', await python(PYTHON, 'kafka-python'), KAFKA_PYTHON_2_0_AUTH);
  });

  it('kafka-python (PyPI)', { timeout: 300_000 }, async () => {
    check('kafka-python (PyPI)', await python(venvPython(), 'kafka-python'), KAFKA_PYTHON_AUTH);
  });

  it('kafkajs', { timeout: 300_000 }, async () => {
    check('kafkajs', await node('kafkajs'), /SASL.*[Aa]uthentication failed|Authentication failed/);
  });

  it('@platformatic/kafka', { timeout: 300_000 }, async () => {
    check('@platformatic/kafka', await node('platformatic'), /Authentication failed|SASL/);
  });
});

describe('refusals are logged', () => {
  it('the log names the failed SASL login and the refused certificate', {
    timeout: 120_000,
  }, async () => {
    requireOpenssl();
    requireConfluentKafka();
    const certs = await makeTestCerts();
    const broker = await BrokerProcess.start({ overrides: overrides(certs) });
    try {
      const cases: SecureCase[] = [
        {
          name: 'wrong',
          bootstrap: broker.listenerAddress('SASL_PLAINTEXT'),
          protocol: 'SASL_PLAINTEXT',
          mechanism: 'PLAIN',
          user: 'alice',
          password: 'nope',
          expect: 'fail',
        },
        {
          name: 'stranger',
          bootstrap: broker.listenerAddress('MTLS'),
          protocol: 'SSL',
          ca: certs.caPem,
          cert: certs.strangerCert,
          key: certs.strangerKey,
          expect: 'fail',
        },
      ];
      const report = pythonReport<Record<string, CaseReport>>(
        await run(
          PYTHON,
          ['-u', fixture('secure_roundtrip.py'), 'confluent', JSON.stringify(cases)],
          {
            timeoutMs: 60_000,
          },
        ),
      );
      assert.ok('error' in (report['wrong'] ?? {}), JSON.stringify(report));
      await broker.waitForStderr(
        /failed authentication with 127\.0\.0\.1:\d+ on SASL_PLAINTEXT .*PLAIN: Authentication failed: Invalid username or password/,
      );
      await broker.waitForStderr(
        /TLS handshake with .* on MTLS failed|refusing TLS client 127\.0\.0\.1/,
      );
    } finally {
      await broker.cleanup();
      await rm(certs.dir, { recursive: true, force: true });
    }
  });
});
