/**
 * Leader kill loop on a three-broker cluster (a real ZooKeeper, broker processes): an idempotent
 * acks=all confluent-kafka producer (test/fixtures/crash/producer.py) writes to an RF 3,
 * min.insync.replicas=2 topic of two partitions while a partition leader is killed with kill -9
 * and restarted on its port, 20 times or more, the controller's broker at least 5 of those. Each
 * restarted broker is back in every ISR before the next kill, so two replicas always hold what
 * was acknowledged. Afterwards a reader from the beginning finds every acknowledged record once,
 * at its acknowledged offset, in producer order, and the three replicas' segments are
 * byte-identical.
 *
 * Divergent logs: a leader that appended acks=1 batches its stopped followers never fetched is
 * killed; a follower takes over and writes more; the old leader comes back as a follower,
 * truncates what it alone had (by leader epoch) and ends byte-identical to the new leader.
 *
 * TRIBUTARY_CLUSTER_KILLS makes the loop longer; TRIBUTARY_CRASH_SEED repeats the pauses.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { MetadataResponse } from '../src/protocol/messages/metadata-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { ChildRun, describeRun } from '../src/testing/broker-process.ts';
import { kcatConsume, PYTHON, requireConfluentKafka, requireKcat } from '../src/testing/clients.ts';
import {
  type AckedRecord,
  checkLog,
  crashFixture,
  parseAcks,
  restartOnSamePort,
  seededRandom,
} from '../src/testing/crash.ts';
import { WireClient } from '../src/testing/wire-client.ts';
import { sleep, until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const PARTITIONS = 2;
const { TRIBUTARY_CLUSTER_KILLS: killsEnv, TRIBUTARY_CRASH_SEED: seedEnv } = process.env;
const KILLS = Number(killsEnv ?? 20);
const CONTROLLER_KILLS = Math.min(5, KILLS);
/** Kills past KILLS allowed while waiting for the controller to lead a partition. */
const EXTRA_KILLS_MAX = 15;
const SEED = Number(seedEnv ?? Math.floor(Math.random() * 2 ** 31));
/** Records a second: enough to have a produce in flight at every kill, light on two cores. */
const PRODUCE_RATE = 400;

let zookeeper: ZooKeeperServer;

before(async () => {
  requireKcat();
  requireConfluentKafka();
  zookeeper = await ZooKeeperServer.start();
});

after(async () => {
  await zookeeper?.stop();
});

/** Every partition's segment, equal on the three brokers (retried while followers catch up). */
async function assertByteIdentical(
  cluster: ZkCluster,
  topic: string,
  partitions: number,
): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    let sizes = '';
    await until(
      `byte-identical replicas of ${topic}-${p}`,
      async () => {
        const segments = await Promise.all([1, 2, 3].map((id) => cluster.segment(id, topic, p)));
        sizes = segments.map((s) => s.length).join(', ');
        const [a, b, c] = segments as [Buffer, Buffer, Buffer];
        return a.length > 0 && a.equals(b) && a.equals(c) ? true : undefined;
      },
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)} (segment sizes ${sizes})\n${cluster.describe()}`);
    });
  }
}

describe('leader kill loop', () => {
  let cluster: ZkCluster;

  before(async () => {
    // Leaders wander with the kills instead of going back to the preferred replica, so that the
    // controller's broker comes to lead partitions too.
    cluster = await ZkCluster.start(zookeeper, 3, { 'auto.leader.rebalance.enable': 'false' });
  });

  after(async () => {
    await cluster?.stop();
  });

  it(`kill -9 a partition leader ${KILLS} times (the controller's broker ${CONTROLLER_KILLS}) under an idempotent acks=all producer`, {
    timeout: 120_000 + KILLS * 15_000,
  }, async (t) => {
    t.diagnostic(`seed ${SEED} (TRIBUTARY_CRASH_SEED=${SEED} repeats the pauses)`);
    const random = seededRandom(SEED);
    const topic = 'kill-loop';
    await cluster.createTopic(topic, PARTITIONS, 3, { 'min.insync.replicas': '2' });
    await cluster.waitForIsr(topic, 3);
    // Every broker keeps its port across restarts, so one bootstrap list serves the whole run.
    const bootstrap = cluster.bootstrap;
    const producer = new ChildRun(
      PYTHON,
      [
        '-u',
        crashFixture('producer.py'),
        bootstrap,
        topic,
        String(PARTITIONS),
        '0',
        String(PRODUCE_RATE),
      ],
      { timeoutMs: 120_000 + KILLS * 15_000 },
    );
    const ackCount = () => producer.lines.filter((l) => l.startsWith('ack ')).length;
    const started = performance.now();
    let kills = 0;
    let controllerKills = 0;
    try {
      await producer.waitFor(() => ackCount() >= 200, 30_000);
      while (
        (kills < KILLS || controllerKills < CONTROLLER_KILLS) &&
        kills < KILLS + EXTRA_KILLS_MAX
      ) {
        const state = await until('every partition led', () => cluster.leaders(topic));
        const leaders = state.partitions.map((p) => p.leader);
        const controllerLeads = leaders.includes(state.controller);
        // The controller's broker whenever it leads a partition, until it has had its share.
        const victim =
          controllerLeads && controllerKills < CONTROLLER_KILLS
            ? state.controller
            : (leaders[kills % PARTITIONS] as number);
        const acked = ackCount();
        await sleep(100 + Math.floor(random() * 400));
        await cluster.broker(victim).kill();
        kills++;
        if (victim === state.controller) controllerKills++;
        const role = victim === state.controller ? 'controller and leader' : 'leader';
        const ms = Math.round(performance.now() - started);
        t.diagnostic(`kill ${kills}: broker ${victim} (${role}) at ${ms} ms, ${acked} acked`);
        // The other two take over and acknowledge again before the victim comes back.
        await producer.waitFor(() => ackCount() >= acked + 100, 30_000);
        // Restarted once its ZooKeeper registration is gone: a broker started again before its
        // previous session expired is the subject of the test below.
        await until('the killed broker gone from the cluster', () =>
          registrationGone(cluster, victim),
        );
        await restartOnSamePort(cluster.broker(victim));
        await cluster.waitForIsr(topic, 3, 60_000);
      }
      const ackedAtEnd = ackCount();
      await producer.waitFor(() => ackCount() >= ackedAtEnd + 200, 30_000);
    } catch (err) {
      throw new Error(
        `${String(err)}\nproducer stderr:\n${producer.stderr.slice(-3000)}\n${cluster.describe()}`,
      );
    } finally {
      producer.kill('SIGTERM');
    }
    const result = await producer.done;
    t.diagnostic(
      `${kills} kills (${controllerKills} of the controller's broker) in ` +
        `${Math.round(performance.now() - started)} ms`,
    );
    assert.equal(result.code, 0, describeRun(result));
    assert.ok(kills >= KILLS, `${kills} kills`);
    assert.ok(
      controllerKills >= CONTROLLER_KILLS,
      `the controller's broker led a partition at only ${controllerKills} of ${kills} kills`,
    );
    const lines = producer.lines;
    const failures = lines.filter((l) => /^(err|fatal) /.test(l));
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failed deliveries`);
    const acks: AckedRecord[] = parseAcks(lines);

    await cluster.waitForIsr(topic, 3);
    const log = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const { records } = await kcatConsume(cluster.bootstrap, topic, {
        partition: p,
        timeoutMs: 60_000,
      });
      for (const r of records)
        log.push({ partition: r.partition, offset: r.offset, value: r.value?.toString() ?? '' });
    }
    const verdict = checkLog(log, acks);
    t.diagnostic(
      `acknowledged ${verdict.acked}, in the log ${log.length}, lost ${verdict.lost.length}, ` +
        `duplicated ${verdict.duplicatedAcked.length}, moved ${verdict.moved.length}, ` +
        `reordered ${verdict.reordered.length}, unacknowledged in the log ${verdict.unacked}`,
    );
    const ctx = (what: string[]) => `${what.slice(0, 20).join('\n')}\n${cluster.describe()}`;
    assert.ok(verdict.acked > 0, 'nothing was acknowledged');
    assert.deepEqual(verdict.lost, [], ctx(verdict.lost));
    assert.deepEqual(verdict.duplicatedAcked, [], ctx(verdict.duplicatedAcked));
    assert.deepEqual(verdict.moved, [], ctx(verdict.moved));
    assert.deepEqual(verdict.reordered, [], ctx(verdict.reordered));
    assert.equal(verdict.duplicated, 0, 'a record (acknowledged or not) is in the log twice');
    await assertByteIdentical(cluster, topic, PARTITIONS);
  });
});

/** True once no running broker lists broker `id` (its ZooKeeper registration is gone). */
async function registrationGone(cluster: ZkCluster, id: number): Promise<true | undefined> {
  for (const other of cluster.runningIds) {
    const md = await cluster.metadata(other);
    if (md.brokers.some((b) => b.id === id)) return undefined;
  }
  return true;
}

/**
 * What a broker answers about `topic` on Metadata v9 (allowing auto-creation, as producers ask):
 * `partitions=N`, `error=<code>`, or why no answer came (connection refused while it starts).
 */
async function topicAnswer(port: number, topic: string): Promise<string> {
  let client: WireClient;
  try {
    client = await WireClient.connect('127.0.0.1', port, 'metadata-probe');
  } catch {
    return 'no connection';
  }
  try {
    const res = await client.request<MetadataResponse>(ApiKey.Metadata, 9, {
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: topic }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = res.topics.find((x) => x.name === topic);
    if (t === undefined) return 'topic missing';
    return t.errorCode === 0 ? `partitions=${t.partitions.length}` : `error=${t.errorCode}`;
  } catch (err) {
    return `no answer (${String(err)})`;
  } finally {
    await client.close();
  }
}

describe('a broker restarted before its previous ZooKeeper session expired', () => {
  let cluster: ZkCluster;

  before(async () => {
    cluster = await ZkCluster.start(zookeeper, 3);
  });

  after(async () => {
    await cluster?.stop();
  });

  // librdkafka takes a topic that a broker reports missing (or fails to auto-create, as
  // INVALID_REPLICATION_FACTOR while only two brokers are registered) as gone: produce() raises
  // for it. A restarting broker must answer only what the cluster knows, or a retriable error.
  it('never tells a client that an existing topic is missing while it rejoins', {
    timeout: 60_000,
  }, async () => {
    const topic = 'rejoin';
    await cluster.createTopic(topic, 2, 3);
    await cluster.waitForIsr(topic, 3);
    const broker = cluster.broker(3);
    assert.equal(await topicAnswer(broker.port, topic), 'partitions=2');
    await broker.kill();
    // At once, as a supervisor restarts it: the old registration is still there for ~1.5 s.
    let ready = false;
    const restarting = restartOnSamePort(broker).finally(() => {
      ready = true;
    });
    const answers = new Map<string, number>();
    const readyAt = () => (ready ? 'after ready' : 'before ready');
    const deadline = performance.now() + 60_000;
    let settledAt: number | undefined;
    // From the kill until a second after it answers with both partitions again.
    while (
      performance.now() < deadline &&
      (settledAt === undefined || performance.now() < settledAt + 1000)
    ) {
      const answer = await topicAnswer(broker.port, topic);
      const key = `${answer} (${readyAt()})`;
      answers.set(key, (answers.get(key) ?? 0) + 1);
      if (ready && answer === 'partitions=2') settledAt ??= performance.now();
      await sleep(20);
    }
    await restarting;
    const wrong = [...answers.keys()].filter(
      (a) =>
        !a.startsWith('no connection') &&
        !a.startsWith('partitions=2') &&
        !a.startsWith(`error=${ErrorCode.LEADER_NOT_AVAILABLE} `),
    );
    const seen = [...answers].map(([a, n]) => `${a}: ${n}`).join('\n');
    assert.deepEqual(
      wrong,
      [],
      `answers about ${topic} while broker 3 rejoined:\n${seen}\n${broker.describe()}`,
    );
  });
});

async function produce(
  client: WireClient,
  topic: string,
  acks: number,
  values: readonly string[],
): Promise<{ errorCode: number | undefined; baseOffset: number | undefined }> {
  const records = buildRecordBatchSync({
    now: Date.now(),
    records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
  });
  const res = await client.request<ProduceResponse>(ApiKey.Produce, 8, {
    transactionalId: null,
    acks,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const p = res.responses[0]?.partitionResponses[0];
  return { errorCode: p?.errorCode, baseOffset: p?.baseOffset };
}

function values(prefix: string, from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${from + i}`);
}

/** Produces `batches` batches of `perBatch` records, each acknowledged without error. */
async function produceAll(
  client: WireClient,
  topic: string,
  acks: number,
  prefix: string,
  batches: number,
  perBatch = 10,
): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const out = await produce(client, topic, acks, values(prefix, b * perBatch, perBatch));
    assert.equal(out.errorCode, 0, `produce acks=${acks} ${prefix} batch ${b}`);
  }
}

describe('divergent logs', () => {
  let cluster: ZkCluster;

  before(async () => {
    // Sessions and the replica lag long enough that the stopped followers stay registered and
    // in the ISR while the leader appends alone: they are the clean candidates at its death.
    cluster = await ZkCluster.start(zookeeper, 3, {
      'zookeeper.session.timeout.ms': '6000',
      'replica.lag.time.max.ms': '30000',
      'auto.leader.rebalance.enable': 'false',
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('a leader that appended acks=1 batches no follower has truncates them by leader epoch and ends identical to the new leader', {
    timeout: 120_000,
  }, async () => {
    const topic = 'divergent';
    await cluster.createTopic(topic, 1, 3);
    await cluster.waitForIsr(topic, 3);
    const state = await until('a leader', () => cluster.leaders(topic));
    const oldLeader = state.partitions[0]?.leader as number;
    const followers = [1, 2, 3].filter((id) => id !== oldLeader);
    let client = await WireClient.connect('127.0.0.1', cluster.broker(oldLeader).port);
    try {
      await produceAll(client, topic, -1, 'all', 5);
      // The followers have fetched everything up to here (acks=all): now they stop.
      for (const id of followers) cluster.broker(id).signal('SIGSTOP');
      try {
        // A fetch the followers sent before they stopped waits at the leader for up to
        // replica.fetch.wait.max.ms; once it is answered (empty), none is pending.
        await sleep(1000);
        await produceAll(client, topic, 1, 'alone', 5);
      } finally {
        await client.close();
        await cluster.broker(oldLeader).kill();
        for (const id of followers) cluster.broker(id).signal('SIGCONT');
      }
      const diverged = await cluster.segment(oldLeader, topic, 0);
      assert.ok(diverged.includes(Buffer.from('alone-49')), 'the old leader appended alone');
      const divergedSize = diverged.length;
      const newState = await until(
        'a follower to take over',
        async () => {
          const s = await cluster.leaders(topic, followers[0]);
          const leader = s?.partitions[0]?.leader;
          return leader !== undefined && followers.includes(leader) ? s : undefined;
        },
        30_000,
      );
      const newLeader = newState.partitions[0]?.leader as number;
      client = await WireClient.connect('127.0.0.1', cluster.broker(newLeader).port);
      // The new leader is past the old one's high watermark with batches of the new epoch.
      await produceAll(client, topic, -1, 'after', 8);
      await client.close();
      await cluster.broker(oldLeader).restart();
      await cluster.waitForIsr(topic, 3, 60_000);
      await assertByteIdentical(cluster, topic, 1);
      const segment = await cluster.segment(oldLeader, topic, 0);
      assert.ok(
        !segment.includes(Buffer.from('alone-')),
        `the old leader's own batches are gone (it had ${divergedSize} bytes, now ${segment.length})`,
      );
      const { records } = await kcatConsume(cluster.bootstrap, topic, { partition: 0 });
      assert.deepEqual(
        records.map((r) => r.value?.toString()),
        [...values('all', 0, 50), ...values('after', 0, 80)],
        'what the cluster acknowledged with acks=all, in order, once',
      );
    } catch (err) {
      for (const id of followers) cluster.broker(id).signal('SIGCONT');
      throw new Error(`${String(err)}\n${cluster.describe()}`);
    }
  });
});
