/**
 * Brokers that authenticate to each other (issue 18): three broker processes on a real
 * ZooKeeper with no PLAINTEXT listener at all and the ACL authorizer on, so that every
 * inter-broker connection (the controller's UpdateMetadata and LeaderAndIsr, which a broker waits
 * for before it is ready; the followers' fetches; controlled shutdown) must log in and be
 * authorized as the brokers' own principal, the only super user.
 *
 * - SASL_SSL with SCRAM-SHA-512: the brokers' SCRAM user is written into ZooKeeper before they
 *   start by Kafka 3.9's own kafka-configs --zookeeper, as Kafka's documentation does it. A
 *   client user with a Write ACL produces with acks=all (kcat over SASL_SSL); the RF 3 topic has
 *   all three in its ISR; the leader is killed, leadership moves, and every acknowledged record
 *   is there. A confluent-kafka transactional producer commits and aborts (the coordinator's
 *   markers and the leaders' AddPartitionsToTxn verification cross brokers). A fourth broker with a wrong inter-broker password starts (the controller reaches
 *   it) but its fetches are refused and logged, it stays out of the ISR, and nothing crashes.
 * - SSL with mutual TLS (ssl.client.auth=required): the brokers' principal is their certificate's
 *   subject, User:CN=localhost; the same replication and failover.
 */
import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, runOk } from '../src/testing/broker-process.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';
import {
  kcatConsume,
  kcatProduce,
  requireConfluentKafka,
  requireKcat,
  runPython,
} from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const BROKER_PASSWORD = 'broker-secret';
const WRITER_PASSWORD = 'writer-secret';
const AUTHORIZER = 'kafka.security.authorizer.AclAuthorizer';
/** What the start-time check says when the brokers' principal may not act as a broker. */
const PRINCIPAL_WARNING = /inter-broker listener's principal .* is not allowed ClusterAction/;

function lines(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `v${from + i}`);
}

/** `tributary <args>` with a client properties file. */
async function tributary(args: readonly string[], bootstrap: string, props: string) {
  await runOk(
    process.execPath,
    ['bin/tributary.js', ...args, '--bootstrap-server', bootstrap, '--command-config', props],
    { timeoutMs: 30_000 },
  );
}

/**
 * An RF 3 topic (min.insync.replicas=2) gets all three brokers in its ISR; records produced with
 * acks=all survive the kill of the leader; leadership moves; the killed broker restarts and
 * catches up. `admin` and `writer` are kcat options (security) of a super user and of a client
 * allowed only to write; `adminProps` the same super user for the CLI.
 */
async function replicationSurvivesLeaderKill(
  cluster: ZkCluster,
  topic: string,
  adminProps: string,
  writer: readonly string[],
): Promise<void> {
  await tributary(
    ['topics', 'create', topic, '--partitions', '1', '--replication-factor', '3'].concat([
      '--config',
      'min.insync.replicas=2',
    ]),
    cluster.bootstrap,
    adminProps,
  );
  await cluster.waitForIsr(topic, 3);
  const acks = ['-X', 'acks=all'];
  await kcatProduce(cluster.bootstrap, topic, lines(100).join('\n'), {
    extra: [...writer, ...acks],
  });
  const before = (await cluster.ledPartition(topic, 0)).leader;
  await cluster.broker(before).kill();
  const survivor = cluster.runningIds[0] as number;
  const moved = await until('a new leader', async () => {
    const p = await cluster.partition(survivor, topic, 0);
    return p !== undefined && p.leader >= 0 && p.leader !== before ? p : undefined;
  });
  assert.ok(!moved.isrs.includes(before), 'the killed broker left the ISR');
  await kcatProduce(cluster.bootstrap, topic, lines(100, 100).join('\n'), {
    extra: [...writer, ...acks],
  });
  await cluster.broker(before).restart();
  await cluster.waitForIsr(topic, 3);
  const { records } = await kcatConsume(cluster.bootstrap, topic, {
    partition: 0,
    count: 200,
    extra: [...cluster.clientArgs],
  });
  assert.deepEqual(
    records.map((r) => r.value?.toString()),
    lines(200),
    'every acknowledged record, once, in order',
  );
  await until('byte-identical replicas', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map((id) => cluster.segment(id, topic, 0)));
    return a !== undefined && a.length > 0 && a.equals(b as Buffer) && a.equals(c as Buffer)
      ? true
      : undefined;
  });
}

describe('brokers that authenticate to each other', () => {
  let zookeeper: ZooKeeperServer;
  let certs: TestCerts;

  before(async () => {
    requireKcat();
    requireConfluentKafka();
    requireOpenssl();
    certs = await makeTestCerts();
    zookeeper = await ZooKeeperServer.start();
  });

  after(async () => {
    await zookeeper?.stop();
  });

  describe('SASL_SSL with SCRAM-SHA-512 and no PLAINTEXT listener', () => {
    let cluster: ZkCluster | undefined;
    const overrides = (password: string) => ({
      listeners: 'SASL_SSL://127.0.0.1:0',
      'security.inter.broker.protocol': 'SASL_SSL',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `${SCRAM} required username="broker" password="${password}";`,
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': certs.serverP12,
      'ssl.keystore.password': certs.serverP12Password,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': certs.caPem,
      'authorizer.class.name': AUTHORIZER,
      'super.users': 'User:broker',
    });
    const client = (user: string, password: string) => [
      '-X',
      'security.protocol=SASL_SSL',
      '-X',
      'sasl.mechanisms=SCRAM-SHA-512',
      '-X',
      `sasl.username=${user}`,
      '-X',
      `sasl.password=${password}`,
      '-X',
      `ssl.ca.location=${certs.caPem}`,
    ];
    let adminProps = '';

    before(async () => {
      const c = await ZkCluster.empty(zookeeper);
      cluster = c;
      // Kafka's way: the brokers' SCRAM user in /config/users/broker before they start.
      await kafkaTool('configs', [
        '--zookeeper',
        c.connect,
        '--alter',
        '--add-config',
        `SCRAM-SHA-512=[password=${BROKER_PASSWORD}]`,
        '--entity-type',
        'users',
        '--entity-name',
        'broker',
      ]);
      await Promise.all([1, 2, 3].map((id) => c.startBroker(id, overrides(BROKER_PASSWORD))));
      c.clientArgs = client('broker', BROKER_PASSWORD);
      adminProps = join(certs.dir, 'broker-admin.properties');
      await writeFile(
        adminProps,
        [
          'security.protocol=SASL_SSL',
          'sasl.mechanism=SCRAM-SHA-512',
          `sasl.jaas.config=${SCRAM} required username="broker" password="${BROKER_PASSWORD}";`,
          'ssl.truststore.type=PEM',
          `ssl.truststore.location=${certs.caPem}`,
          '',
        ].join('\n'),
      );
      await tributary(
        ['users', 'add', 'writer', '--password', WRITER_PASSWORD, '--mechanism', 'SCRAM-SHA-512'],
        c.bootstrap,
        adminProps,
      );
      for (const topic of ['secure', 'lonely']) {
        await tributary(
          ['acls', 'add', '--allow-principal', 'User:writer', '--operation', 'Write'].concat([
            '--topic',
            topic,
          ]),
          c.bootstrap,
          adminProps,
        );
      }
    });

    after(async () => {
      await cluster?.stop();
    });

    it('replicates as User:broker: ISR of 3, a killed leader replaced, nothing acknowledged lost', {
      timeout: 240_000,
    }, async () => {
      const c = cluster as ZkCluster;
      await replicationSurvivesLeaderKill(
        c,
        'secure',
        adminProps,
        client('writer', WRITER_PASSWORD),
      );
      for (const id of [1, 2, 3]) {
        assert.doesNotMatch(c.broker(id).stderr, PRINCIPAL_WARNING, c.describe());
      }
    });

    it('transactions: markers and verification between brokers over SASL_SSL', {
      timeout: 240_000,
    }, async () => {
      const c = cluster as ZkCluster;
      await tributary(
        ['topics', 'create', 'txn', '--partitions', '3', '--replication-factor', '3'],
        c.bootstrap,
        adminProps,
      );
      await c.waitForIsr('txn', 3);
      const security = {
        'security.protocol': 'SASL_SSL',
        'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': 'broker',
        'sasl.password': BROKER_PASSWORD,
        'ssl.ca.location': certs.caPem,
      };
      const env = { TXN_CLIENT_SECURITY: JSON.stringify(security) };
      // Four transactions of six records over the three partitions; every second one aborted.
      const produced = await runPython(
        'txn_client.py',
        ['produce', c.bootstrap, 'txn', 'secure-txn', '4', '6', '2', '3'],
        { timeoutMs: 120_000, env },
      );
      assert.equal(produced.code, 0, describeRun(produced));
      const consumed = await runPython(
        'txn_client.py',
        ['consume', c.bootstrap, 'txn', 'read_committed', '3', '2'],
        { timeoutMs: 60_000, env },
      );
      assert.equal(consumed.code, 0, describeRun(consumed));
      const events = String(consumed.stdout)
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map(
          (l) =>
            JSON.parse(l) as {
              ev: string;
              v?: string;
              positions?: Record<string, number>;
              high?: Record<string, number>;
            },
        );
      const got = events.filter((e) => e.ev === 'record').map((e) => e.v);
      const expected = [0, 2].flatMap((i) => Array.from({ length: 6 }, (_, j) => `${i}:${j}`));
      assert.deepEqual(got.sort(), expected.sort(), 'the committed records, none aborted');
      // Every marker written: a read_committed reader gets to the high watermark.
      const end = events.find((e) => e.ev === 'end');
      for (let p = 0; p < 3; p++) assert.equal(end?.positions?.[p], end?.high?.[p], `txn-${p}`);
    });

    it('a broker with a wrong inter-broker password is refused and logged; nothing crashes', {
      timeout: 240_000,
    }, async () => {
      const c = cluster as ZkCluster;
      // The controller logs in to it with the right password: it starts and is told the cluster.
      const wrong = await c.startBroker(4, overrides('not-the-password'));
      const leader = c.runningIds.find((id) => id !== 4) as number;
      await kafkaTool('topics', [
        '--bootstrap-server',
        c.bootstrap,
        '--command-config',
        adminProps,
        '--create',
        '--topic',
        'lonely',
        '--replica-assignment',
        `${leader}:4`,
      ]);
      await wrong.waitForStderr(
        new RegExp(`replica fetcher for broker ${leader}: .*(SASL|[Aa]uthentication)`),
        30_000,
      );
      await c.broker(leader).waitForStderr(/failed authentication with .* on SASL_SSL/, 30_000);
      const shrunk = await until('the ISR without broker 4', async () => {
        const p = await c.partition(leader, 'lonely', 0);
        return p?.leader === leader && p.isrs.length === 1 ? p : undefined;
      });
      assert.deepEqual(shrunk.isrs, [leader]);
      await kcatProduce(c.bootstrap, 'lonely', lines(10).join('\n'), {
        extra: [...client('writer', WRITER_PASSWORD), '-X', 'acks=all'],
      });
      const p = await c.partition(leader, 'lonely', 0);
      assert.deepEqual(p?.isrs, [leader], 'broker 4 never caught up');
      for (const [id, b] of c.brokers) assert.ok(b.running, `broker ${id} still runs`);
    });
  });

  describe('SSL with mutual TLS: the brokers are their certificate', () => {
    let cluster: ZkCluster | undefined;
    // The brokers' certificate (CN=localhost) also serves the test as a super user's.
    const asBroker = () => [
      '-X',
      'security.protocol=SSL',
      '-X',
      `ssl.ca.location=${certs.caPem}`,
      '-X',
      `ssl.certificate.location=${join(certs.dir, 'server.crt')}`,
      '-X',
      `ssl.key.location=${join(certs.dir, 'server.key')}`,
    ];
    let adminProps = '';

    before(async () => {
      const c = await ZkCluster.start(zookeeper, 3, {
        listeners: 'INTERNAL://127.0.0.1:0',
        'listener.security.protocol.map': 'INTERNAL:SSL',
        'inter.broker.listener.name': 'INTERNAL',
        'ssl.client.auth': 'required',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.serverPem,
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': certs.caPem,
        'authorizer.class.name': AUTHORIZER,
        'super.users': 'User:CN=localhost',
      });
      cluster = c;
      c.clientArgs = asBroker();
      adminProps = join(certs.dir, 'tls-admin.properties');
      await writeFile(
        adminProps,
        [
          'security.protocol=SSL',
          `ssl.ca.location=${certs.caPem}`,
          `ssl.certificate.location=${join(certs.dir, 'server.crt')}`,
          `ssl.key.location=${join(certs.dir, 'server.key')}`,
          '',
        ].join('\n'),
      );
      await tributary(
        ['acls', 'add', '--allow-principal', certs.clientPrincipal, '--operation', 'Write'].concat([
          '--topic',
          'mtls',
        ]),
        c.bootstrap,
        adminProps,
      );
    });

    after(async () => {
      await cluster?.stop();
    });

    it('replicates as User:CN=localhost: ISR of 3, a killed leader replaced, nothing lost', {
      timeout: 240_000,
    }, async () => {
      const c = cluster as ZkCluster;
      const alice = [
        '-X',
        'security.protocol=SSL',
        '-X',
        `ssl.ca.location=${certs.caPem}`,
        '-X',
        `ssl.certificate.location=${certs.clientCert}`,
        '-X',
        `ssl.key.location=${certs.clientKey}`,
      ];
      await replicationSurvivesLeaderKill(c, 'mtls', adminProps, alice);
      for (const id of [1, 2, 3]) {
        assert.doesNotMatch(c.broker(id).stderr, PRINCIPAL_WARNING, c.describe());
      }
    });
  });
});
