/**
 * Real clients through a leader change on a 3-broker cluster (a real ZooKeeper, RF 3,
 * min.insync.replicas=2, acks=all): kcat, confluent-kafka and kafka-python (separate processes),
 * kafkajs and @platformatic/kafka (a Node child process each, src/testing/cluster-js-client.ts, so a
 * client's loop can only stall its own process, never this runner's). Each produces to and consumes from its own
 * topic; meanwhile the partition's leader is killed with kill -9 (or stopped with SIGTERM, a
 * controlled shutdown), the client keeps producing to the new leader, and the old leader comes
 * back. Afterwards the log holds every acknowledged record exactly once and in order, and the
 * client's own consumer has read every one of them.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ChildRun, describeRun, repoRoot } from '../src/testing/broker-process.ts';
import {
  KCAT,
  kcatConsume,
  kcatProduce,
  PYTHON,
  pythonReport,
  requireConfluentKafka,
  requireKafkaPython,
  requireKcat,
} from '../src/testing/clients.ts';
import { until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const JS_CLIENT = fileURLToPath(new URL('../src/testing/cluster-js-client.js', import.meta.url));

/** Acknowledged records the client must have before the kill, after it, and after the restart. */
const STEP = 100;

/** What a client did: the record numbers acknowledged (in order) and those its consumer read. */
interface Outcome {
  readonly acked: readonly number[];
  readonly consumed: readonly number[];
  readonly failed: number;
  readonly errors: readonly string[];
  /** An assign()ed consumer reads each offset once; a group member may read some again. */
  readonly readsOnce: boolean;
}

interface ClientRun {
  /** How many records are acknowledged so far. */
  acked(): number;
  /** Stops producing; resolves once the consumer has read every acknowledged record. */
  finish(): Promise<Outcome>;
  /** For failure messages. */
  describe(): string;
}

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;
let scratch: string;

before(async () => {
  requireKcat();
  requireConfluentKafka();
  requireKafkaPython();
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 3);
  scratch = await mkdtemp(join(tmpdir(), 'tributary-cluster-clients-'));
  await until('three brokers in the metadata', async () =>
    (await cluster.metadata(1)).brokers.length === 3 ? true : undefined,
  );
});

after(async () => {
  await cluster?.stop();
  await zookeeper?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function newTopic(name: string): Promise<string> {
  await cluster.createTopic(name, 1, 3, ['min.insync.replicas=2']);
  const p = await cluster.ledPartition(name, 0);
  await until('all three in the ISR', async () =>
    (await cluster.partition(p.leader, name, 0))?.isrs.length === 3 ? true : undefined,
  );
  return name;
}

function brokerLogs(): string {
  return [...cluster.brokers.values()].map((b) => b.describe()).join('\n');
}

/**
 * Drives `client` through a leader change: STEP acknowledged records, the leader killed (or
 * SIGTERMed), STEP more through the new leader, the old leader restarted and back in the ISR,
 * STEP more. Then checks the log and the client's consumer.
 */
async function throughLeaderChange(
  topic: string,
  how: 'SIGKILL' | 'SIGTERM',
  client: ClientRun,
  t: TestContext,
): Promise<void> {
  const t0 = performance.now();
  const timeline: string[] = [];
  const mark = (what: string) =>
    timeline.push(
      `${Math.round(performance.now() - t0)} ms: ${what} (${client.acked()} acknowledged)`,
    );
  const progress = (what: string, target: number) =>
    until(
      `${what} (${target} acknowledged)`,
      () => (client.acked() >= target ? true : undefined),
      30_000,
    ).catch(async (err: unknown) => {
      const state = await cluster.ledPartition(topic, 0).catch(String);
      throw new Error(
        `${String(err)}\n${timeline.join('; ')}; now ${JSON.stringify(state)}\n${client.describe()}\n${brokerLogs()}`,
      );
    });
  await progress('records before the leader change', STEP);
  const victim = (await cluster.ledPartition(topic, 0)).leader;
  mark(`${how} to leader ${victim}`);
  if (how === 'SIGKILL') await cluster.broker(victim).kill();
  else assert.equal((await cluster.broker(victim).stop()).code, 0, 'a clean controlled shutdown');
  const survivor = [1, 2, 3].find((id) => id !== victim) as number;
  await until('a new leader', async () => {
    const p = await cluster.partition(survivor, topic, 0);
    return p !== undefined && p.leader >= 0 && p.leader !== victim ? true : undefined;
  });
  mark('a new leader');
  await progress('records through the new leader', client.acked() + STEP);
  await cluster.broker(victim).restart({ samePort: true });
  await until(
    'the old leader back in the ISR',
    async () =>
      (await cluster.partition(survivor, topic, 0))?.isrs.length === 3 ? true : undefined,
    30_000,
  );
  mark(`broker ${victim} back in the ISR`);
  await progress('records after the restart', client.acked() + STEP);
  mark('stopping the producer');
  const outcome = await client.finish();
  mark('the consumer has read every acknowledged record');
  t.diagnostic(timeline.join('; '));
  await checkOutcome(topic, outcome, `${timeline.join('; ')}\n${client.describe()}`);
}

async function checkOutcome(topic: string, outcome: Outcome, clientLog: string): Promise<void> {
  const { records } = await kcatConsume(cluster.bootstrap, topic, {
    partition: 0,
    timeoutMs: 30_000,
  });
  const log = records.map((r) => Number(r.value?.toString()));
  const ctx = () =>
    `acked ${outcome.acked.length} (failed ${outcome.failed}), log ${log.length}, consumed ` +
    `${outcome.consumed.length}; errors: ${outcome.errors.join('; ')}\n${clientLog}`;
  const outOfOrder = log.findIndex((v, i) => i > 0 && v <= (log[i - 1] as number));
  assert.equal(
    outOfOrder,
    -1,
    `the log holds each record once, in order (offset ${outOfOrder}: ${log.slice(Math.max(0, outOfOrder - 3), outOfOrder + 3).join(',')}); ${ctx()}`,
  );
  const inLog = new Set(log);
  const lost = outcome.acked.filter((i) => !inLog.has(i));
  if (lost.length > 0) {
    const at = log.findIndex((v) => v > (lost[0] as number));
    const around = log.slice(Math.max(0, at - 5), at + 5);
    assert.deepEqual(
      lost.slice(0, 20),
      [],
      `acknowledged records missing from the log (around them, from offset ${Math.max(0, at - 5)}: ${around.join(',')}); ${ctx()}\n${brokerLogs()}`,
    );
  }
  assert.ok(outcome.acked.length >= 3 * STEP, ctx());

  const read = new Set(outcome.consumed);
  const unread = outcome.acked.filter((i) => !read.has(i));
  assert.deepEqual(unread.slice(0, 20), [], `acknowledged records the consumer missed; ${ctx()}`);
  const firstReads = [...read];
  assert.deepEqual(
    firstReads,
    log.slice(0, firstReads.length),
    `the consumer reads the log in order; ${ctx()}`,
  );
  if (outcome.readsOnce) {
    assert.equal(
      outcome.consumed.length,
      read.size,
      `the consumer read each record once; ${ctx()}`,
    );
  }
}

/**
 * A client in a child process that produces until a stop file exists, prints "acked N" as it
 * goes and its Outcome as the last stdout line: test/fixtures/cluster/failover_client.py under
 * /usr/bin/python3, or src/testing/cluster-js-client.ts under node.
 */
function childClient(
  topic: string,
  t: TestContext,
  command: (stopFile: string) => readonly [string, readonly string[]],
): ClientRun {
  const stopFile = join(scratch, `stop-${topic}`);
  const [cmd, args] = command(stopFile);
  const child = new ChildRun(cmd, args, { timeoutMs: 150_000 });
  // A timed-out or failed test must not leave its client running.
  t.signal.addEventListener('abort', () => child.kill());
  return {
    acked: () => {
      for (let i = child.lines.length - 1; i >= 0; i--) {
        const m = /^acked (\d+)$/.exec(child.lines[i] ?? '');
        if (m !== null) return Number(m[1]);
      }
      return 0;
    },
    finish: async () => {
      await writeFile(stopFile, '');
      const r = await child.done;
      const report = pythonReport<Outcome & { readsOnce?: boolean; consumerRestarts?: number }>(r);
      if (report.consumerRestarts !== undefined) {
        t.diagnostic(`consumer restarts: ${report.consumerRestarts}; ${report.errors.join('; ')}`);
      }
      return { ...report, readsOnce: report.readsOnce ?? true };
    },
    describe: () => `${child.command}\nstderr:\n${child.stderr.slice(-3_000)}`,
  };
}

function pythonClient(name: 'confluent' | 'kafka-python', topic: string, t: TestContext) {
  const script = join(repoRoot(), 'test', 'fixtures', 'cluster', 'failover_client.py');
  return childClient(topic, t, (stopFile) => [
    PYTHON,
    ['-u', script, name, cluster.bootstrap, topic, stopFile],
  ]);
}

function jsClient(client: 'kafkajs' | 'platformatic', topic: string, t: TestContext) {
  return childClient(topic, t, (stopFile) => [
    process.execPath,
    [JS_CLIENT, JSON.stringify({ client, bootstrap: cluster.bootstrap, topic, stopFile })],
  ]);
}

describe('clients through a leader change (3 brokers, RF 3, min.insync.replicas=2, acks=all)', () => {
  it('kcat: idempotent producer runs and a running consumer, leader killed with kill -9', {
    timeout: 120_000,
  }, async (t) => {
    const topic = await newTopic('kcat-failover');
    const acked: number[] = [];
    const errors: string[] = [];
    let failed = 0;
    let producing = true;
    // A timed-out or failed test must not leave its producer running (node:test does not stop it).
    t.signal.addEventListener('abort', () => {
      producing = false;
    });
    const producer = (async () => {
      let next = 0;
      while (producing) {
        const batch = Array.from({ length: 20 }, (_, i) => next + i);
        next += batch.length;
        try {
          await kcatProduce(cluster.bootstrap, topic, batch.join('\n'), {
            extra: ['-X', 'acks=all', '-X', 'enable.idempotence=true'],
            timeoutMs: 30_000,
          });
          acked.push(...batch);
        } catch (err) {
          failed += batch.length;
          errors.push(String(err).slice(0, 1_500));
        }
      }
    })();
    const consumerArgs = ['-C', '-b', cluster.bootstrap, '-t', topic, '-p', '0'];
    consumerArgs.push('-o', 'beginning', '-f', '%s\n', '-X', 'fetch.wait.max.ms=100', '-q', '-u');
    const consumer = new ChildRun(KCAT, consumerArgs, { timeoutMs: 150_000 });
    const consumed = () => consumer.lines.map(Number);
    await throughLeaderChange(
      topic,
      'SIGKILL',
      {
        acked: () => acked.length,
        finish: async () => {
          producing = false;
          await producer;
          await until(
            'the consumer to read every acknowledged record',
            () => {
              const read = new Set(consumed());
              return acked.every((i) => read.has(i)) ? true : undefined;
            },
            30_000,
          ).catch(() => {});
          consumer.kill('SIGTERM');
          const r = await consumer.done;
          if (consumer.lines.length === 0) errors.push(describeRun(r));
          return { acked, consumed: consumed(), failed, errors, readsOnce: true };
        },
        describe: () => `kcat consumer stderr:\n${consumer.stderr.slice(-2_000)}`,
      },
      t,
    );
  });

  it('confluent-kafka (Python): idempotent producer and assign() consumer, leader killed with kill -9', {
    timeout: 120_000,
  }, async (t) => {
    const topic = await newTopic('confluent-failover');
    await throughLeaderChange(topic, 'SIGKILL', pythonClient('confluent', topic, t), t);
  });

  it('kafka-python: acks=all producer (retries=0) and assign() consumer, leader stopped with SIGTERM', {
    timeout: 120_000,
  }, async (t) => {
    const topic = await newTopic('kafka-python-failover');
    await throughLeaderChange(topic, 'SIGTERM', pythonClient('kafka-python', topic, t), t);
  });

  it('kafkajs: idempotent producer and a group consumer, leader killed with kill -9', {
    timeout: 120_000,
  }, async (t) => {
    const topic = await newTopic('kafkajs-failover');
    await throughLeaderChange(topic, 'SIGKILL', jsClient('kafkajs', topic, t), t);
  });

  it('@platformatic/kafka: idempotent producer and a group consumer, leader stopped with SIGTERM', {
    timeout: 120_000,
  }, async (t) => {
    const topic = await newTopic('platformatic-failover');
    await throughLeaderChange(topic, 'SIGTERM', jsClient('platformatic', topic, t), t);
  });
});
