/**
 * Power loss of a whole cluster: three brokers in this process (Broker.start in cluster mode,
 * each on its own MemoryFileSystem with durability tracking) on a real ZooKeeper, each reaching
 * it through a proxy it can be unplugged from. acks=all producers run on every partition of an
 * RF 3, min.insync.replicas=2 topic; then, in one event-loop turn, every file system starts
 * failing and falls back to what was synced (MemoryFileSystem.crash) and every ZooKeeper link is
 * cut (the sessions are not closed: they expire, as a dead machine's do). Three new brokers
 * start on the same file systems. With tributary.acks.all.fsync (the default) every record
 * acknowledged before the crash is there, at its acknowledged offset, once and in order.
 *
 * The same run with tributary.acks.all.fsync=false (Kafka's page-cache semantics) must lose
 * acknowledged records, which shows the crash model bites.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../src/broker/broker.ts';
import type { Coordination } from '../src/cluster/coordination.ts';
import { connectZooKeeper } from '../src/cluster/zk/client.ts';
import { MemoryFileSystem } from '../src/common/memory-fs.ts';
import { BrokerConfig } from '../src/config/broker-config.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { kcatConsume, kcatMetadata, requireKcat } from '../src/testing/clients.ts';
import { type AckedRecord, type CrashVerdict, checkLog } from '../src/testing/crash.ts';
import { FaultFileSystem } from '../src/testing/fault-fs.ts';
import { TcpProxy } from '../src/testing/tcp-proxy.ts';
import { WireClient } from '../src/testing/wire-client.ts';
import { FAST_CLUSTER_CONFIG, sleep, until } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const DATA = '/data';
const PARTITIONS = 3;
const RECORDS_PER_BATCH = 5;
const PRODUCE_MS = 2000;

let zookeeper: ZooKeeperServer;

before(async () => {
  requireKcat();
  zookeeper = await ZooKeeperServer.start();
});

after(async () => {
  await zookeeper?.stop();
});

/** One machine: its disk outlives the broker processes started on it. */
class Machine {
  readonly id: number;
  readonly disk = new MemoryFileSystem({ trackDurability: true });
  readonly lines: string[] = [];
  broker: Broker | undefined;
  /** Brokers whose power went; stopped (best effort) at the end so the process can exit. */
  readonly dead: Broker[] = [];
  #fs: FaultFileSystem | undefined;
  #proxy: TcpProxy | undefined;
  #sessions: Coordination[] = [];

  constructor(id: number) {
    this.id = id;
  }

  /** Starts a broker on this machine's disk, reaching ZooKeeper `chroot` through a new proxy. */
  async boot(chroot: string, overrides: Readonly<Record<string, string>>): Promise<void> {
    this.#proxy = await TcpProxy.start('127.0.0.1', zookeeper.member.port);
    this.#fs = new FaultFileSystem(this.disk);
    const run = this.lines.length === 0 ? 'first run' : 'after the power loss';
    this.lines.push(`--- broker ${this.id}, ${run} ---`);
    const config = new Map<string, string>([
      ['listeners', 'PLAINTEXT://127.0.0.1:0'],
      ['log.dirs', DATA],
      ...Object.entries(FAST_CLUSTER_CONFIG),
      ...Object.entries(overrides),
      ['broker.id', String(this.id)],
      ['zookeeper.connect', `${this.#proxy.address}/${chroot}`],
    ]);
    // The broker's ZooKeeper sessions, so that a dead broker's client can be silenced.
    this.#sessions = [];
    const sessions = this.#sessions;
    this.broker = await Broker.start({
      config: BrokerConfig.from(config),
      fs: this.#fs,
      log: (m) => this.lines.push(m),
      coordination: async (o) => {
        const session = await connectZooKeeper(o);
        sessions.push(session);
        return session;
      },
    });
  }

  /**
   * The power goes: from now on no write reaches the disk, which keeps only what was synced, and
   * the machine is off the network (ZooKeeper first: nothing more of it may reach the cluster).
   * Synchronous, so that every machine goes in the same event-loop turn.
   */
  powerLoss(): void {
    this.#fs?.addFault({ kind: 'EIO', times: Number.POSITIVE_INFINITY });
    this.#proxy?.cut();
    this.disk.crash();
  }

  /** Closes the proxy of the running broker (after it stopped). */
  closeProxy(): void {
    this.#proxy?.cut();
  }

  /**
   * Closes what is left of the dead process: its listener and connections, unflushed, and its
   * ZooKeeper clients (the link is cut, so the server only sees the session time out).
   */
  async unplug(): Promise<void> {
    const old = this.broker;
    this.broker = undefined;
    if (old === undefined) return;
    await old.server.close(0);
    for (const session of this.#sessions) await session.close().catch(() => undefined);
    this.dead.push(old);
  }

  get bootstrap(): string {
    const l = this.broker?.listeners[0];
    return l === undefined ? '' : `${l.host}:${l.port}`;
  }
}

async function createTopic(client: WireClient, topic: string): Promise<void> {
  const res = await client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: [
      {
        name: topic,
        numPartitions: PARTITIONS,
        replicationFactor: 3,
        assignments: [],
        configs: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(res.topics[0]?.errorCode, 0, JSON.stringify(res.topics[0]));
}

/** Each partition's leader once all have three in their ISR, as `bootstrap` answers. */
async function leadersInSync(bootstrap: string, topic: string): Promise<Map<number, number>> {
  return until(
    `every partition of ${topic} with a leader and three in its ISR`,
    async () => {
      const { metadata } = await kcatMetadata(bootstrap, ['-t', topic]);
      const ps = metadata.topics.find((t) => t.topic === topic)?.partitions ?? [];
      if (ps.length !== PARTITIONS || ps.some((p) => p.leader < 0 || p.isrs.length !== 3))
        return undefined;
      return new Map(ps.map((p) => [p.partition, p.leader]));
    },
    60_000,
  );
}

/** Produces batches of `p:n` records to one partition, acks=all, until stopped or refused. */
async function produceLoop(
  client: WireClient,
  topic: string,
  partition: number,
  acked: AckedRecord[],
  running: () => boolean,
): Promise<void> {
  let n = 0;
  while (running()) {
    const values = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => `${partition}:${n + i}`);
    n += RECORDS_PER_BATCH;
    const records = buildRecordBatchSync({
      now: Date.now(),
      records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
    });
    let res: ProduceResponse;
    try {
      res = await client.request<ProduceResponse>(ApiKey.Produce, 8, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      });
    } catch {
      return;
    }
    const p = res.responses[0]?.partitionResponses[0];
    if (p === undefined || p.errorCode !== 0) return;
    values.forEach((value, i) => {
      acked.push({ partition, offset: p.baseOffset + i, value });
    });
  }
}

async function readAll(bootstrap: string, topic: string) {
  const log = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const { records } = await kcatConsume(bootstrap, topic, { partition: p, timeoutMs: 30_000 });
    for (const r of records)
      log.push({ partition: r.partition, offset: r.offset, value: r.value?.toString() ?? '' });
  }
  return log;
}

/**
 * Three brokers, producers on every partition for a while, a power loss of all three at once,
 * three new brokers on the same disks. Returns what the producers saw acknowledged before the
 * crash checked against what the new cluster serves.
 */
async function powerLossRun(
  overrides: Readonly<Record<string, string>>,
  diagnostic: (m: string) => void,
): Promise<{ verdict: CrashVerdict; describe: () => string }> {
  const chroot = (await zookeeper.freshChroot()).split('/')[1] as string;
  const machines = [1, 2, 3].map((id) => new Machine(id));
  const describe = () => machines.map((m) => m.lines.slice(-60).join('\n')).join('\n');
  const clients: WireClient[] = [];
  try {
    await Promise.all(machines.map((m) => m.boot(chroot, overrides)));
    const bootstrap = machines.map((m) => m.bootstrap).join(',');
    const admin = await WireClient.connect(
      '127.0.0.1',
      machines[0]?.broker?.listeners[0]?.port ?? 0,
    );
    clients.push(admin);
    const topic = 'power';
    await until('the three brokers registered', async () => {
      const { metadata } = await kcatMetadata(bootstrap);
      return metadata.brokers.length === 3 ? true : undefined;
    });
    await createTopic(admin, topic);
    const leaders = await leadersInSync(bootstrap, topic);
    const acked: AckedRecord[] = [];
    let running = true;
    const loops = [];
    for (const [partition, leader] of leaders) {
      const port = machines[leader - 1]?.broker?.listeners[0]?.port ?? 0;
      const client = await WireClient.connect('127.0.0.1', port, `power-${partition}`);
      clients.push(client);
      loops.push(produceLoop(client, topic, partition, acked, () => running));
    }
    await sleep(PRODUCE_MS);
    // The crash: all three in this one turn; what was acknowledged up to here must survive.
    for (const m of machines) m.powerLoss();
    running = false;
    const ackedBeforeCrash = [...acked];
    for (const c of clients) await c.close();
    await Promise.all(loops);
    await Promise.all(machines.map((m) => m.unplug()));
    diagnostic(`${ackedBeforeCrash.length} records acknowledged before the power loss`);
    assert.ok(ackedBeforeCrash.length > 0, `nothing was acknowledged\n${describe()}`);

    await Promise.all(machines.map((m) => m.boot(chroot, overrides)));
    const after = machines.map((m) => m.bootstrap).join(',');
    await leadersInSync(after, topic);
    const log = await readAll(after, topic);
    const verdict = checkLog(log, ackedBeforeCrash);
    diagnostic(
      `after the restart: ${log.length} records, lost ${verdict.lost.length}, moved ` +
        `${verdict.moved.length}, duplicated ${verdict.duplicatedAcked.length}, reordered ` +
        `${verdict.reordered.length}, unacknowledged ${verdict.unacked}`,
    );
    return { verdict, describe };
  } finally {
    for (const c of clients) await c.close();
    await Promise.all(
      machines.flatMap((m) => [
        ...m.dead.map((b) => stopWithin(b, 20_000)),
        ...(m.broker === undefined ? [] : [stopWithin(m.broker, 20_000)]),
      ]),
    );
    for (const m of machines) m.closeProxy();
  }
}

/** Stops a broker, giving up after `ms` (a dead one may wait on ZooKeeper it cannot reach). */
async function stopWithin(broker: Broker, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    broker.stop().catch(() => undefined),
    new Promise((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}

describe('power loss of every broker at once', () => {
  it('every acks=all record acknowledged before the crash is there after the restart', {
    timeout: 120_000,
  }, async (t) => {
    const { verdict, describe } = await powerLossRun({}, (m) => t.diagnostic(m));
    const ctx = (what: string[]) => `${what.slice(0, 20).join('\n')}\n${describe()}`;
    assert.deepEqual(verdict.lost, [], ctx(verdict.lost));
    assert.deepEqual(verdict.moved, [], ctx(verdict.moved));
    assert.deepEqual(verdict.duplicatedAcked, [], ctx(verdict.duplicatedAcked));
    assert.deepEqual(verdict.reordered, [], ctx(verdict.reordered));
    assert.equal(verdict.duplicated, 0, 'a record is in the log twice');
  });

  it('with tributary.acks.all.fsync=false acknowledged records are lost (the crash model bites)', {
    timeout: 120_000,
  }, async (t) => {
    const { verdict } = await powerLossRun({ 'tributary.acks.all.fsync': 'false' }, (m) =>
      t.diagnostic(m),
    );
    assert.ok(verdict.lost.length > 0, 'page-cache semantics lost nothing');
  });
});
