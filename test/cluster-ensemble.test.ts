/**
 * Three brokers on a 3-node ZooKeeper ensemble (Debian's server, three JVMs on 127.0.0.1): the
 * ZooKeeper leader is killed with kill -9. The surviving two elect a new leader and the brokers'
 * ZooKeeper client moves its session to one of them, as Kafka's does: no session expires, so no
 * broker registers again and the controller stays where it was, and clients (kcat) see no error
 * while it happens.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { kcatConsume, kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { sleep, until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperEnsemble } from '../src/testing/zookeeper.ts';

const TOPIC = 'steady';
const PARTITIONS = 3;
const BATCH = 20;

describe('a ZooKeeper ensemble loses its leader', () => {
  let ensemble: ZooKeeperEnsemble;
  let cluster: ZkCluster;

  before(async () => {
    requireKcat();
    ensemble = await ZooKeeperEnsemble.start(3);
    cluster = await ZkCluster.start(ensemble, 3);
  });

  after(async () => {
    await cluster?.stop();
    await ensemble?.stop();
  });

  it('the brokers keep serving and keep their sessions; the controller does not change', {
    timeout: 90_000,
  }, async () => {
    const controller = await until('three brokers and one controller everywhere', async () => {
      const seen = new Set<number>();
      for (const id of [1, 2, 3]) {
        const md = await cluster.metadata(id);
        if (md.brokers.length !== 3 || md.controllerid === undefined || md.controllerid < 0) {
          return undefined;
        }
        seen.add(md.controllerid);
      }
      return seen.size === 1 ? [...seen][0] : undefined;
    });
    await cluster.createTopic(TOPIC, PARTITIONS, 3, ['min.insync.replicas=2']);
    for (let p = 0; p < PARTITIONS; p++) await cluster.ledPartition(TOPIC, p);
    // Where each broker's stderr stood before the kill: only what follows is looked at.
    const marks = new Map([1, 2, 3].map((id) => [id, cluster.broker(id).stderr.length]));

    // acks=all batches, one after another, before, during and after the ZooKeeper election.
    const sent: number[] = Array(PARTITIONS).fill(0);
    const failures: string[] = [];
    let producing = true;
    let batches = 0;
    const producer = (async () => {
      while (producing && failures.length < 5) {
        const partition = batches % PARTITIONS;
        const from = sent[partition] ?? 0;
        const lines = Array.from({ length: BATCH }, (_, i) => `p${partition}-${from + i}`);
        const t0 = performance.now();
        try {
          await kcatProduce(cluster.bootstrap, TOPIC, lines.join('\n'), {
            partition,
            extra: ['-X', 'acks=all', '-X', 'enable.idempotence=true'],
          });
          sent[partition] = from + BATCH;
          const ms = performance.now() - t0;
          if (ms > 5_000) failures.push(`batch ${batches} took ${Math.round(ms)} ms`);
        } catch (err) {
          failures.push(`batch ${batches}: ${String(err).slice(0, 2_000)}`);
        }
        batches += 1;
      }
    })();

    const stderrs = () =>
      [1, 2, 3]
        .map((id) => {
          const b = cluster.broker(id);
          return `broker ${id} (${b.running ? 'running' : 'exited'}):\n${b.stderr.slice(marks.get(id))}`;
        })
        .join('\n');
    try {
      await sleep(1_000);
      const zkLeader = await ensemble.leader();
      await zkLeader.kill();
      const newLeader = await ensemble.leader(20_000);
      assert.notEqual(newLeader.id, zkLeader.id);
      // Several session timeouts (1.5 s) after the election: an expiry would have shown by now.
      await sleep(6_000);
      for (const id of [1, 2, 3]) {
        assert.ok(cluster.broker(id).running, `broker ${id} still runs\n${stderrs()}`);
      }
      // Consumers work too, through every broker.
      for (const id of [1, 2, 3]) {
        const { records } = await kcatConsume(cluster.broker(id).bootstrap, TOPIC, {
          partition: id % PARTITIONS,
          count: BATCH,
        });
        assert.ok(records.length > 0, `broker ${id}: a consumer reads`);
      }
    } finally {
      producing = false;
      await producer;
    }
    assert.deepEqual(failures, [], `every produce succeeded in time\n${stderrs()}`);
    assert.ok(batches >= 10, `only ${batches} batches were produced`);

    for (let p = 0; p < PARTITIONS; p++) {
      const { records } = await kcatConsume(cluster.bootstrap, TOPIC, { partition: p });
      assert.deepEqual(
        records.map((r) => r.value?.toString()),
        Array.from({ length: sent[p] ?? 0 }, (_, i) => `p${p}-${i}`),
        `partition ${p}: every acknowledged record once and in order`,
      );
    }

    for (const id of [1, 2, 3]) {
      const since = cluster.broker(id).stderr.slice(marks.get(id));
      assert.doesNotMatch(since, /session expired/i, `broker ${id} kept its session\n${stderrs()}`);
      assert.doesNotMatch(
        since,
        /is controller at epoch|brokers: gone/,
        `no controller change and no broker left or joined\n${stderrs()}`,
      );
      const md = await cluster.metadata(id);
      assert.equal(md.controllerid, controller, `broker ${id} names the same controller`);
      assert.equal(md.brokers.length, 3, `broker ${id} lists three brokers`);
    }
  });
});
