/**
 * The embedded cluster's fault controls that test/embedded-cluster-clients.test.ts does not drive
 * (it covers kill, restart and isolate with kafkajs and @platformatic/kafka):
 *
 * - pause(id) on the system clock: the paused leader's session expires, another broker leads,
 *   kcat (a separate process, acks=all) goes on writing through the new leader; heal() brings the
 *   paused broker back into the ISR, and every acknowledged record is there once, in order;
 * - the same on the virtual clock: nothing expires while the clock stands still, however long
 *   the test waits; advance() past zookeeper.session.timeout.ms is what moves leadership, and
 *   heal() plus advance() brings the broker back.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { startCluster } from '../src/index.ts';
import { kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { sleep, until } from '../src/testing/zk-cluster.ts';

const TOPIC = 'paused';

async function produce(bootstrap: string, from: number, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) => `r${from + i}`).join('\n');
  await kcatProduce(bootstrap, TOPIC, `${lines}\n`, {
    partition: 0,
    extra: ['-X', 'acks=all', '-X', 'message.timeout.ms=30000'],
  });
}

describe('startCluster: pause and the virtual clock', () => {
  it('a paused leader loses leadership once its session expires; heal() brings it back', {
    timeout: 120_000,
  }, async () => {
    requireKcat();
    const cluster = await startCluster({
      brokers: 3,
      config: { 'zookeeper.session.timeout.ms': 1500, 'min.insync.replicas': 2 },
    });
    try {
      await cluster.createTopic(TOPIC, { partitions: 1, replicationFactor: 3 });
      await until('three in the ISR', async () =>
        (await cluster.partitionState(TOPIC, 0))?.isr.length === 3 ? true : undefined,
      );
      await produce(cluster.bootstrapServers, 0, 50);
      const before = await cluster.partitionState(TOPIC, 0);
      assert.ok(before !== undefined);
      cluster.pause(before.leader);
      assert.equal(cluster.status(before.leader), 'paused');
      const moved = await until(
        'another leader',
        async () => {
          const s = await cluster.partitionState(TOPIC, 0);
          return s !== undefined && s.leader !== before.leader ? s : undefined;
        },
        30_000,
      );
      assert.ok(moved.leaderEpoch > before.leaderEpoch);
      assert.ok(!moved.isr.includes(before.leader), `ISR ${moved.isr} still has the paused broker`);
      // The other brokers' addresses: a client that asks the paused one would wait for it.
      const others = cluster.brokerIds
        .filter((id) => id !== before.leader)
        .map((id) => cluster.address(id))
        .join(',');
      await produce(others, 50, 50);
      cluster.heal();
      assert.equal(cluster.status(before.leader), 'running');
      await until(
        'the healed broker back in the ISR',
        async () =>
          (await cluster.partitionState(TOPIC, 0))?.isr.includes(before.leader) ? true : undefined,
        30_000,
      );
      const values = (await cluster.records(TOPIC)).map((r) => r.value?.toString());
      assert.deepEqual(
        values,
        Array.from({ length: 100 }, (_, i) => `r${i}`),
      );
    } finally {
      await cluster.stop();
    }
  });

  it('on the virtual clock, leadership moves only when advance() passes the session timeout', {
    timeout: 120_000,
  }, async () => {
    const cluster = await startCluster({
      brokers: 3,
      clock: 'virtual',
      config: { 'zookeeper.session.timeout.ms': 6000 },
    });
    try {
      const leaderOf = async () => (await cluster.partitionState(TOPIC, 0))?.leader;
      // Creation and elections need time to pass: the test moves it in small steps.
      const step = async (what: string, check: () => Promise<boolean>) => {
        for (let i = 0; i < 400; i++) {
          if (await check()) return;
          await cluster.advance(50);
          await sleep(5);
        }
        assert.fail(`${what}: not after 20 s of virtual time`);
      };
      // Creating the topic waits for the brokers to learn of it: the clock moves meanwhile.
      let created = false;
      const creating = cluster
        .createTopic(TOPIC, { partitions: 1, replicationFactor: 3 })
        .then(() => {
          created = true;
        });
      await step('the topic created', async () => created);
      await creating;
      await step(
        'three in the ISR',
        async () => (await cluster.partitionState(TOPIC, 0))?.isr.length === 3,
      );
      const first = await leaderOf();
      assert.ok(first !== undefined);
      cluster.pause(first);
      // Real time passes; virtual time does not: the paused broker's session does not expire.
      await sleep(1500);
      assert.equal(await leaderOf(), first, 'leadership moved without the clock moving');
      await cluster.advance(3000);
      await sleep(100);
      assert.equal(await leaderOf(), first, 'leadership moved before the session timeout');
      await step(
        'a new leader after the session timeout',
        async () => (await leaderOf()) !== first,
      );
      cluster.heal();
      await step(
        'the paused broker back in the ISR',
        async () => (await cluster.partitionState(TOPIC, 0))?.isr.includes(first) === true,
      );
    } finally {
      await cluster.stop();
    }
  });
});
