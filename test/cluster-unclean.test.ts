/**
 * Offline partitions and unclean leader election on a three-broker cluster (a real ZooKeeper,
 * broker processes). One replica is made out of sync (SIGSTOP past replica.lag.time.max.ms while
 * acks=all records go on to the other two), then both in-sync replicas are killed and the
 * stopped one continues. With unclean.leader.election.enable=false (Kafka's default) the
 * partition stays offline, LEADER_NOT_AVAILABLE in Metadata, until an ISR member returns with
 * every record. With it true the out-of-sync replica takes over (losing what it never had, as
 * Kafka does), and the old replicas come back as its followers, truncated to its log.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { MetadataResponse } from '../src/protocol/messages/metadata-response.ts';
import { kcatConsume, kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';
import { sleep, until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

let zookeeper: ZooKeeperServer;

before(async () => {
  requireKcat();
  zookeeper = await ZooKeeperServer.start();
});

after(async () => {
  await zookeeper?.stop();
});

function lines(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

async function produceAll(bootstrap: string, topic: string, values: readonly string[]) {
  await kcatProduce(bootstrap, topic, values.join('\n'), {
    extra: ['-X', 'acks=all', '-X', 'enable.idempotence=true'],
  });
}

/** Partition 0 of `topic` as broker `port` answers Metadata v9. */
async function partitionAnswer(
  port: number,
  topic: string,
): Promise<{ errorCode: number; leader: number; isr: number[] } | undefined> {
  const client = await WireClient.connect('127.0.0.1', port, 'unclean-probe');
  try {
    const res = await client.request<MetadataResponse>(ApiKey.Metadata, 9, {
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const p = res.topics
      .find((t) => t.name === topic)
      ?.partitions.find((x) => x.partitionIndex === 0);
    if (p === undefined) return undefined;
    return { errorCode: p.errorCode, leader: p.leaderId, isr: [...p.isrNodes].sort() };
  } finally {
    await client.close();
  }
}

interface Stranded {
  /** The replica that was stopped and missed the `late` records. */
  readonly outOfSync: number;
  /** The two that had every record, now killed. */
  readonly killed: readonly number[];
}

/**
 * `early` records on all three replicas, then one follower stopped until it has left the ISR,
 * `late` records (acks=all) on the other two, both of them killed with kill -9, and the stopped
 * one continued: the only live replica of the partition is out of sync.
 */
async function strandOutOfSyncReplica(
  cluster: ZkCluster,
  topic: string,
  early: readonly string[],
  late: readonly string[],
): Promise<Stranded> {
  await cluster.createTopic(topic, 1, 3);
  await cluster.waitForIsr(topic, 3);
  await produceAll(cluster.bootstrap, topic, early);
  const state = await until('a leader', () => cluster.leaders(topic));
  const leader = state.partitions[0]?.leader as number;
  const outOfSync = [1, 2, 3].find((id) => id !== leader) as number;
  const killed = [1, 2, 3].filter((id) => id !== outOfSync);
  // Everything of `early` is on the follower before it stops.
  await until('the follower to have the early records', async () => {
    const segments = await Promise.all(
      [leader, outOfSync].map((id) => cluster.segment(id, topic, 0)),
    );
    return segments[0]?.equals(segments[1] as Buffer) === true ? true : undefined;
  });
  cluster.broker(outOfSync).signal('SIGSTOP');
  try {
    await until(
      'the stopped replica to leave the ISR',
      async () => {
        const p = await cluster.partition(leader, topic, 0);
        return p !== undefined && p.isrs.length === 2 && !p.isrs.includes(outOfSync)
          ? true
          : undefined;
      },
      20_000,
    );
    const bootstrap = killed.map((id) => cluster.broker(id).bootstrap).join(',');
    await produceAll(bootstrap, topic, late);
    await Promise.all(killed.map((id) => cluster.broker(id).kill()));
  } finally {
    cluster.broker(outOfSync).signal('SIGCONT');
  }
  return { outOfSync, killed };
}

describe('unclean.leader.election.enable=false (the default)', () => {
  let cluster: ZkCluster;

  before(async () => {
    cluster = await ZkCluster.start(zookeeper, 3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('with every ISR member down the partition is offline (LEADER_NOT_AVAILABLE), and an ISR member brings it back with every record', {
    timeout: 90_000,
  }, async () => {
    const topic = 'clean-only';
    const early = lines('early', 30);
    const late = lines('late', 30);
    const { outOfSync, killed } = await strandOutOfSyncReplica(cluster, topic, early, late);
    const port = cluster.broker(outOfSync).port;
    const offline = await until(
      'the partition offline',
      async () => {
        const p = await partitionAnswer(port, topic);
        return p?.errorCode === ErrorCode.LEADER_NOT_AVAILABLE ? p : undefined;
      },
      20_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${cluster.describe()}`);
    });
    assert.equal(offline.leader, -1);
    // It stays so: the out-of-sync replica is alive and registered, and is not elected.
    for (let i = 0; i < 10; i++) {
      await sleep(300);
      const p = await partitionAnswer(port, topic);
      assert.equal(p?.errorCode, ErrorCode.LEADER_NOT_AVAILABLE, `${JSON.stringify(p)}`);
      assert.equal(p?.leader, -1, `replica ${outOfSync} was elected out of sync`);
    }
    const isrMember = offline.isr.find((id) => killed.includes(id));
    assert.ok(isrMember !== undefined, `the ISR keeps a killed member: ${offline.isr.join(',')}`);
    await cluster.broker(isrMember).restart({ samePort: true });
    const back = await until(
      'the ISR member to lead again',
      async () => {
        const p = await partitionAnswer(port, topic);
        return p?.errorCode === 0 && p.leader === isrMember ? p : undefined;
      },
      30_000,
    );
    assert.equal(back.leader, isrMember);
    const { records } = await kcatConsume(cluster.bootstrap, topic, { partition: 0 });
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      [...early, ...late],
      'every acknowledged record',
    );
  });
});

describe('unclean.leader.election.enable=true', () => {
  let cluster: ZkCluster;

  before(async () => {
    cluster = await ZkCluster.start(zookeeper, 3, { 'unclean.leader.election.enable': 'true' });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('an out-of-sync replica takes over; the old replicas come back truncated to its log', {
    timeout: 90_000,
  }, async () => {
    const topic = 'unclean';
    const early = lines('early', 30);
    const late = lines('late', 30);
    const { outOfSync, killed } = await strandOutOfSyncReplica(cluster, topic, early, late);
    const port = cluster.broker(outOfSync).port;
    await until(
      'the out-of-sync replica elected',
      async () => {
        const p = await partitionAnswer(port, topic);
        return p?.errorCode === 0 && p.leader === outOfSync ? p : undefined;
      },
      20_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${cluster.describe()}`);
    });
    const leaderOnly = cluster.broker(outOfSync).bootstrap;
    const { records: taken } = await kcatConsume(leaderOnly, topic, { partition: 0 });
    assert.deepEqual(
      taken.map((r) => r.value?.toString()),
      early,
      'the new leader has what it had when it stopped (the late records are lost, as in Kafka)',
    );
    const more = lines('after', 30);
    await produceAll(leaderOnly, topic, more);
    for (const id of killed) await cluster.broker(id).restart({ samePort: true });
    await cluster.waitForIsr(topic, 3, 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${cluster.describe()}`);
    });
    await until(
      'the old replicas truncated to the new leader and identical to it',
      async () => {
        const segments = await Promise.all([1, 2, 3].map((id) => cluster.segment(id, topic, 0)));
        const [a, b, c] = segments as [Buffer, Buffer, Buffer];
        return a.equals(b) && a.equals(c) ? true : undefined;
      },
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${cluster.describe()}`);
    });
    const { records } = await kcatConsume(cluster.bootstrap, topic, { partition: 0 });
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      [...early, ...more],
    );
  });
});
