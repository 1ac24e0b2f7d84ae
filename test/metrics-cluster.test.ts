/**
 * metrics.listener in the ZooKeeper cluster mode: three broker processes on a real ZooKeeper,
 * each serving /metrics on its own port, scraped and parsed with a strict text-format parser.
 * One active controller; messages in counted by the leader only; followers' log end offsets
 * catching up with the leader's; a kill -9 seen as under-replicated partitions and ISR shrinks
 * on the leaders, the restart as ISR expansions; no offline partition with RF 3.
 *
 * As in Kafka, IsrShrinks and IsrExpands count the ISR changes a leader proposed and the
 * controller committed (AlterPartition), not the controller's own removal of a broker whose
 * ZooKeeper session expired. So the session here outlasts replica.lag.time.max.ms: the leader
 * sees the killed follower fall behind before the controller sees it gone.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { type Family, parsePrometheusText, sampleValue } from '../src/testing/prometheus-text.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const IDS = [1, 2, 3] as const;

let zookeeper: ZooKeeperServer;

before(async () => {
  requireKcat();
  zookeeper = await ZooKeeperServer.start();
});

after(async () => {
  await zookeeper?.stop();
});

function lines(n: number, tag: string): string {
  return Array.from({ length: n }, (_, i) => `${tag} ${i}`).join('\n');
}

describe('metrics in the ZooKeeper cluster mode', () => {
  let cluster: ZkCluster;

  /** The metrics address from broker `id`'s ready line (a new port after each restart). */
  function metricsUrl(id: number): string {
    const b = cluster.broker(id);
    const m = /metrics on (http:\/\/127\.0\.0\.1:\d+)/.exec(b.stdout);
    assert.ok(m !== null, `no metrics address in broker ${id}'s ready line: ${b.stdout}`);
    return m[1] as string;
  }

  async function scrape(id: number): Promise<Map<string, Family>> {
    const res = await fetch(`${metricsUrl(id)}/metrics`);
    assert.equal(res.status, 200);
    return parsePrometheusText(await res.text());
  }

  async function value(
    id: number,
    name: string,
    labels: Readonly<Record<string, string>> = {},
  ): Promise<number | undefined> {
    return sampleValue(await scrape(id), name, labels);
  }

  /** The sum over running brokers of the offline partitions count: 0 with RF 3 and one down. */
  async function offlineEverywhere(): Promise<number> {
    let total = 0;
    for (const id of cluster.runningIds) {
      total += (await value(id, 'kafka_controller_kafkacontroller_offlinepartitionscount')) ?? -1;
    }
    return total;
  }

  before(async () => {
    cluster = await ZkCluster.start(zookeeper, 3, {
      'metrics.listener': 'http://127.0.0.1:0',
      'zookeeper.session.timeout.ms': '8000',
      'replica.lag.time.max.ms': '2000',
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('exactly one broker reports itself the active controller, the one the metadata names', async () => {
    const controller = await until('an agreed controller', async () => {
      const named = new Set<number>();
      for (const id of IDS) named.add((await cluster.metadata(id)).controllerid ?? -1);
      const [only] = named;
      return named.size === 1 && only !== undefined && only > 0 ? only : undefined;
    });
    const counts = await until('one active controller in the metrics', async () => {
      const c: number[] = [];
      for (const id of IDS) {
        c.push((await value(id, 'kafka_controller_kafkacontroller_activecontrollercount')) ?? -1);
      }
      return c.filter((x) => x === 1).length === 1 ? c : undefined;
    });
    assert.deepEqual(
      counts,
      IDS.map((id) => (id === controller ? 1 : 0)),
    );
    assert.equal(await offlineEverywhere(), 0);
  });

  it('messages in grow on the leader by what kcat produced; followers reach its log end offset; a kill -9 and a restart show as ISR shrinks and expands', async () => {
    const topic = 'metrics-rf3';
    await cluster.createTopic(topic, 1, 3);
    await cluster.waitForIsr(topic, 3);
    const { leader } = await cluster.ledPartition(topic, 0);
    const followers = IDS.filter((id) => id !== leader);
    const inBefore = new Map<number, number>();
    for (const id of IDS) {
      inBefore.set(
        id,
        (await value(id, 'kafka_server_brokertopicmetrics_messagesin_total', { topic })) ?? 0,
      );
    }
    const n = 53;
    await kcatProduce(cluster.bootstrap, topic, lines(n, 'first'), {
      extra: ['-X', 'acks=all'],
    });
    const inLeader = await value(leader, 'kafka_server_brokertopicmetrics_messagesin_total', {
      topic,
    });
    assert.equal((inLeader ?? 0) - (inBefore.get(leader) ?? 0), n, 'messages in on the leader');
    const part = { topic, partition: '0' };
    assert.equal(await value(leader, 'kafka_log_log_logendoffset', part), n);
    for (const id of followers) {
      // A follower's appends are replication, not messages in.
      const inFollower = await value(id, 'kafka_server_brokertopicmetrics_messagesin_total', {
        topic,
      });
      assert.equal((inFollower ?? 0) - (inBefore.get(id) ?? 0), 0, `messages in on ${id}`);
      await until(`broker ${id}'s log end offset at the leader's`, async () =>
        (await value(id, 'kafka_log_log_logendoffset', part)) === n ? true : undefined,
      );
    }
    for (const id of IDS) {
      assert.equal(await value(id, 'kafka_server_replicamanager_underreplicatedpartitions'), 0);
    }
    assert.equal(await offlineEverywhere(), 0);

    // kill -9 a follower that is not the controller: the leaders of its partitions shrink ISRs.
    const controller = (await cluster.metadata(leader)).controllerid ?? -1;
    const victim = followers.find((id) => id !== controller) as number;
    const survivors = IDS.filter((id) => id !== victim);
    const shrinksBefore = new Map<number, number>();
    const expandsBefore = new Map<number, number>();
    for (const id of survivors) {
      shrinksBefore.set(id, (await value(id, 'kafka_server_replicamanager_isrshrinks_total')) ?? 0);
      expandsBefore.set(id, (await value(id, 'kafka_server_replicamanager_isrexpands_total')) ?? 0);
    }
    await cluster.broker(victim).kill();
    await until(
      `the leader of ${topic} reports it under-replicated`,
      async () =>
        ((await value(leader, 'kafka_server_replicamanager_underreplicatedpartitions')) ?? 0) > 0
          ? true
          : undefined,
      30_000,
    );
    const shrunk = (await value(leader, 'kafka_server_replicamanager_isrshrinks_total')) ?? 0;
    assert.ok(shrunk > (shrinksBefore.get(leader) ?? 0), `ISR shrinks on ${leader}: ${shrunk}`);
    assert.equal(await offlineEverywhere(), 0, 'RF 3 with one broker down: nothing offline');
    // Every survivor that leads a partition the victim followed counts it under-replicated.
    let under = 0;
    for (const id of survivors) {
      under += (await value(id, 'kafka_server_replicamanager_underreplicatedpartitions')) ?? 0;
    }
    assert.ok(under >= 1, `under-replicated on the survivors: ${under}`);

    // The controller sees the broker gone once its session expires; the partition stays online.
    await until(
      `the controller drops broker ${victim}`,
      async () => {
        const md = await cluster.metadata(leader);
        return md.brokers.some((b) => b.id === victim) ? undefined : true;
      },
      30_000,
    );
    assert.equal(await offlineEverywhere(), 0, 'RF 3 with one broker down: nothing offline');
    // While it is down the leader still counts what it takes in.
    await kcatProduce(cluster.bootstrap, topic, lines(11, 'second'), {
      extra: ['-X', 'acks=all'],
    });
    assert.equal(
      (await value(leader, 'kafka_server_brokertopicmetrics_messagesin_total', { topic })) ?? 0,
      (inBefore.get(leader) ?? 0) + n + 11,
    );

    await cluster.broker(victim).restart();
    await until(
      'no under-replicated partition anywhere',
      async () => {
        for (const id of IDS) {
          const v = await value(id, 'kafka_server_replicamanager_underreplicatedpartitions');
          if (v !== 0) return undefined;
        }
        return true;
      },
      30_000,
    );
    const expanded = (await value(leader, 'kafka_server_replicamanager_isrexpands_total')) ?? 0;
    assert.ok(expanded > (expandsBefore.get(leader) ?? 0), `ISR expands on ${leader}: ${expanded}`);
    await until(`the restarted broker's log end offset at ${n + 11}`, async () =>
      (await value(victim, 'kafka_log_log_logendoffset', part)) === n + 11 ? true : undefined,
    );
    assert.equal(await offlineEverywhere(), 0);
    const active: number[] = [];
    for (const id of IDS) {
      active.push(
        (await value(id, 'kafka_controller_kafkacontroller_activecontrollercount')) ?? -1,
      );
    }
    assert.deepEqual(
      active,
      IDS.map((id) => (id === controller ? 1 : 0)),
    );
  });
});
