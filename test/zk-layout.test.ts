/**
 * Tributary's ZooKeeper layout beside Apache Kafka 3.9's (issue 22): one real ZooKeeper, a Kafka
 * 3.9.2 broker in ZooKeeper mode on one chroot and a Tributary broker on another, the same
 * operations on both through Kafka's own tools (a topic with a config override, a changed topic
 * config and a cluster-wide dynamic broker default), then both trees are read and compared:
 * every znode Kafka wrote exists in Tributary's tree, and every znode's JSON has the same shape
 * (the same fields with the same types; values such as ids, timestamps and ports differ by
 * nature and are not compared).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ZooKeeperClient } from '../src/cluster/zk/client.ts';
import { ApacheKafka } from '../src/testing/apache-kafka.ts';
import { KAFKA_3, kafkaTool } from '../src/testing/reference-clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

/** The tree under a chroot: normalized path to data (null for no data). */
async function readTree(connectString: string): Promise<Map<string, string | null>> {
  const zk = await ZooKeeperClient.connect({
    connectString,
    sessionTimeoutMs: 10_000,
    connectionTimeoutMs: 10_000,
  });
  const out = new Map<string, string | null>();
  const walk = async (path: string): Promise<void> => {
    const children = await zk.getChildren(path).catch(() => [] as string[]);
    for (const child of children.sort()) {
      const childPath = path === '/' ? `/${child}` : `${path}/${child}`;
      const got = await zk.getData(childPath).catch(() => null);
      if (got === null) continue;
      const text = got.data.length === 0 ? null : got.data.toString();
      out.set(childPath.replace(/\d{10}$/, '#'), text);
      await walk(childPath);
    }
  };
  try {
    await walk('/');
  } finally {
    await zk.close();
  }
  return out;
}

/** A JSON value's shape: field names and value types, recursively (arrays by their elements). */
function shape(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const kinds = [...new Set(value.map((v) => JSON.stringify(shape(v))))].sort();
    return kinds.map((k) => JSON.parse(k));
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, shape(o[k])]),
    );
  }
  return typeof value;
}

function shapeOf(data: string | null): unknown {
  if (data === null) return 'no data';
  try {
    return shape(JSON.parse(data));
  } catch {
    return 'not JSON';
  }
}

describe('the ZooKeeper layout beside Kafka 3.9', () => {
  let zookeeper: ZooKeeperServer;
  let kafka: ApacheKafka | undefined;
  let cluster: ZkCluster | undefined;

  before(async () => {
    zookeeper = await ZooKeeperServer.start();
  });

  after(async () => {
    await kafka?.cleanup();
    await cluster?.stop();
    await zookeeper?.stop();
  });

  it('the same znodes with JSON of the same shape after the same operations', {
    timeout: 240_000,
  }, async (t) => {
    const kafkaChroot = await zookeeper.freshChroot();
    kafka = await ApacheKafka.start(KAFKA_3, { zookeeper: kafkaChroot });
    cluster = await ZkCluster.start(zookeeper, 1);
    const both = [
      { name: 'kafka', bootstrap: kafka.bootstrap, chroot: kafkaChroot },
      { name: 'tributary', bootstrap: cluster.bootstrap, chroot: cluster.connect },
    ];
    for (const side of both) {
      const b = ['--bootstrap-server', side.bootstrap];
      await kafkaTool('topics', [
        ...b,
        '--create',
        '--topic',
        'shape',
        '--partitions',
        '2',
        '--replication-factor',
        '1',
        '--config',
        'retention.ms=1234567',
      ]);
      await kafkaTool('configs', [
        ...b,
        '--alter',
        '--entity-type',
        'topics',
        '--entity-name',
        'shape',
        '--add-config',
        'segment.bytes=1048576',
      ]);
      await kafkaTool('configs', [
        ...b,
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-default',
        '--add-config',
        'log.retention.ms=7654321',
      ]);
      await until(`${side.name}: both partitions led`, async () => {
        const out = await kafkaTool('topics', [...b, '--describe', '--topic', 'shape']);
        return (out.match(/Leader: 1/g) ?? []).length === 2 ? true : undefined;
      });
    }
    const kafkaTree = await readTree(kafkaChroot);
    const ours = await readTree(cluster.connect);
    const missing: string[] = [];
    const differentShape: string[] = [];
    for (const [path, data] of kafkaTree) {
      if (!ours.has(path)) {
        missing.push(`${path} ${data ?? ''}`);
        continue;
      }
      const want = JSON.stringify(shapeOf(data));
      const got = JSON.stringify(shapeOf(ours.get(path) ?? null));
      if (want !== got)
        differentShape.push(`${path}\n  kafka:     ${data}\n  tributary: ${ours.get(path)}`);
    }
    const extra = [...ours.keys()].filter((p) => !kafkaTree.has(p));
    t.diagnostic(
      `kafka ${kafkaTree.size} znodes, tributary ${ours.size}; only in tributary: ${extra.join(', ') || 'none'}`,
    );
    assert.deepEqual(
      missing,
      [],
      `znodes Kafka writes and Tributary does not:\n${missing.join('\n')}`,
    );
    assert.deepEqual(differentShape, [], `JSON of another shape:\n${differentShape.join('\n')}`);
  });
});
