/**
 * A Tributary cluster on a real ZooKeeper: three broker processes on 127.0.0.1, Debian's
 * ZooKeeper server started by the test (one per file, a fresh chroot per cluster), clients as
 * separate processes (kcat). Timings are short (a 1.5 s session, a 2 s replica lag) so that
 * failures are seen in about two seconds.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { runOk } from '../src/testing/broker-process.ts';
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

async function createTopic(
  cluster: ZkCluster,
  topic: string,
  partitions: number,
  rf: number,
  configs: string[] = [],
) {
  const args = [
    'bin/tributary.js',
    'topics',
    'create',
    topic,
    '--partitions',
    String(partitions),
    '--replication-factor',
    String(rf),
    '--bootstrap-server',
    cluster.bootstrap,
  ];
  for (const c of configs) args.push('--config', c);
  await runOk(process.execPath, args, { timeoutMs: 30_000 });
}

function lines(n: number, from = 0): string {
  return Array.from({ length: n }, (_, i) => `v${from + i}`).join('\n');
}

describe('three brokers on ZooKeeper', () => {
  let cluster: ZkCluster;

  before(async () => {
    cluster = await ZkCluster.start(zookeeper, 3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('every broker lists the three brokers and the controller; an RF 3 topic has a replica on each', async () => {
    await until('three brokers in every metadata', async () => {
      for (const id of [1, 2, 3]) {
        const md = await cluster.metadata(id);
        if (md.brokers.length !== 3) return undefined;
      }
      return true;
    });
    await createTopic(cluster, 'rf3', 3, 3);
    const answers = [];
    for (const id of [1, 2, 3]) {
      const md = await cluster.metadata(id, 'rf3');
      const topic = md.topics.find((t) => t.topic === 'rf3');
      assert.ok(topic !== undefined);
      answers.push(
        JSON.stringify({
          controller: md.controllerid,
          brokers: md.brokers.map((b) => b.id).sort(),
          partitions: topic.partitions.map((p) => [
            p.partition,
            p.leader,
            p.replicas.map((r) => r.id),
            p.isrs.map((r) => r.id).sort(),
          ]),
        }),
      );
      for (const p of topic.partitions)
        assert.deepEqual(p.replicas.map((r) => r.id).sort(), [1, 2, 3]);
    }
    assert.equal(new Set(answers).size, 1, `every broker answers the same:\n${answers.join('\n')}`);
    const leaders = new Set(
      (await cluster.metadata(1, 'rf3')).topics[0]?.partitions.map((p) => p.leader),
    );
    assert.equal(leaders.size, 3, 'the three partitions are led by three different brokers');
  });

  it('a killed leader is replaced from the ISR; nothing acknowledged is lost; the replicas end byte-identical', async () => {
    await createTopic(cluster, 'failover', 1, 3, ['min.insync.replicas=2']);
    await kcatProduce(cluster.bootstrap, 'failover', lines(200), {
      extra: ['-X', 'acks=all', '-X', 'enable.idempotence=true'],
    });
    const before = await until(
      'a leader',
      async () => (await cluster.partition(1, 'failover', 0))?.leader,
    );
    await cluster.broker(before).kill();
    const survivor = [1, 2, 3].find((id) => id !== before) as number;
    const after = await until('a new leader', async () => {
      const p = await cluster.partition(survivor, 'failover', 0);
      return p !== undefined && p.leader >= 0 && p.leader !== before ? p : undefined;
    });
    assert.ok(!after.isrs.includes(before), 'the dead broker left the ISR');
    const bootstrap = cluster.bootstrap;
    await kcatProduce(bootstrap, 'failover', lines(200, 200), {
      extra: ['-X', 'acks=all', '-X', 'enable.idempotence=true'],
    });
    await cluster.broker(before).restart();
    await until('the restarted broker back in the ISR', async () => {
      const p = await cluster.partition(survivor, 'failover', 0);
      return p?.isrs.length === 3 ? true : undefined;
    });
    const { records } = await kcatConsume(cluster.bootstrap, 'failover', {
      partition: 0,
      count: 400,
    });
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      lines(400).split('\n'),
      'every acknowledged record, once, in order',
    );
    await until('byte-identical replicas', async () => {
      const segments = await Promise.all([1, 2, 3].map((id) => cluster.segment(id, 'failover', 0)));
      const [a, b, c] = segments;
      return a !== undefined && a.length > 0 && a.equals(b as Buffer) && a.equals(c as Buffer)
        ? true
        : undefined;
    });
  });

  it('a stopped follower leaves the ISR; acks=all goes on with two, min.insync.replicas=3 refuses; it rejoins', async () => {
    await createTopic(cluster, 'lag', 1, 3);
    await createTopic(cluster, 'strict', 1, 3, ['min.insync.replicas=3']);
    const p = await until('a leader', () => cluster.partition(1, 'lag', 0));
    const strictLeader = (await until('a leader', () => cluster.partition(1, 'strict', 0))).leader;
    const follower = [1, 2, 3].find((id) => id !== p.leader && id !== strictLeader) as number;
    cluster.broker(follower).signal('SIGSTOP');
    try {
      await until(
        'the stopped follower to leave the ISR',
        async () => {
          const state = await cluster.partition(p.leader, 'lag', 0);
          return state !== undefined && !state.isrs.includes(follower) ? true : undefined;
        },
        15_000,
      );
      const bootstrap = `${cluster.broker(p.leader).bootstrap},${cluster.broker(strictLeader).bootstrap}`;
      await kcatProduce(bootstrap, 'lag', lines(50), { extra: ['-X', 'acks=all'] });
      await until(
        'the strict topic ISR to shrink',
        async () => {
          const state = await cluster.partition(strictLeader, 'strict', 0);
          return state !== undefined && state.isrs.length === 2 ? true : undefined;
        },
        15_000,
      );
      // librdkafka retries NOT_ENOUGH_REPLICAS until its timeout: ask the leader directly.
      const client = await WireClient.connect('127.0.0.1', cluster.broker(strictLeader).port);
      try {
        const records = buildRecordBatchSync({
          now: Date.now(),
          records: [{ key: null, value: Buffer.from('x') }],
        });
        const res = await client.request<ProduceResponse>(ApiKey.Produce, 8, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: 'strict', partitionData: [{ index: 0, records }] }],
        });
        const code = res.responses[0]?.partitionResponses[0]?.errorCode;
        assert.equal(code, ErrorCode.NOT_ENOUGH_REPLICAS);
      } finally {
        await client.close();
      }
    } finally {
      cluster.broker(follower).signal('SIGCONT');
    }
    await until(
      'the follower to rejoin the ISR',
      async () => {
        const state = await cluster.partition(p.leader, 'lag', 0);
        return state?.isrs.length === 3 ? true : undefined;
      },
      30_000,
    );
  });

  it('SIGTERM moves leadership away first (controlled shutdown); preferred leaders return after the restart', async () => {
    await createTopic(cluster, 'moving', 3, 3);
    const before = (await cluster.metadata(1, 'moving')).topics[0]?.partitions ?? [];
    const victim = before[0]?.leader as number;
    const other = [1, 2, 3].find((id) => id !== victim) as number;
    const stopping = cluster.broker(victim).stop();
    // Before the broker is gone (its session would take 1.5 s more), the others already lead.
    await until('leadership to move off the stopping broker', async () => {
      const md = await cluster.metadata(other, 'moving');
      const ps = md.topics[0]?.partitions ?? [];
      return ps.length === 3 && ps.every((p) => p.leader !== victim && p.leader >= 0)
        ? true
        : undefined;
    });
    const status = await stopping;
    assert.equal(status.code, 0, 'a clean stop');
    await cluster.broker(victim).restart();
    await until(
      'the preferred leader back',
      async () => {
        const md = await cluster.metadata(other, 'moving');
        const ps = md.topics[0]?.partitions ?? [];
        return ps.length === 3 && ps.every((p) => p.leader === p.replicas[0]?.id)
          ? true
          : undefined;
      },
      30_000,
    );
  });

  it('with every ISR member down a partition is offline, and comes back with its data', async () => {
    await createTopic(cluster, 'alone', 1, 1);
    const p = await until('a leader', () => cluster.partition(1, 'alone', 0));
    const owner = p.leader;
    const other = [1, 2, 3].find((id) => id !== owner) as number;
    await kcatProduce(cluster.bootstrap, 'alone', lines(10), { extra: ['-X', 'acks=all'] });
    await cluster.broker(owner).kill();
    await until('the partition offline', async () => {
      const state = await cluster.partition(other, 'alone', 0);
      return state?.leader === -1 ? true : undefined;
    });
    await sleep(500);
    await cluster.broker(owner).restart();
    await until('the partition back', async () => {
      const state = await cluster.partition(other, 'alone', 0);
      return state !== undefined && state.leader === owner ? true : undefined;
    });
    const { records } = await kcatConsume(cluster.bootstrap, 'alone', { partition: 0, count: 10 });
    assert.equal(records.length, 10);
  });
});
