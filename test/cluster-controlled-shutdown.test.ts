/**
 * Controlled shutdown on a 3-broker cluster (a real ZooKeeper): while an idempotent confluent-kafka
 * producer (acks=all) writes about 200 records/s over a 6-partition RF 3 topic with
 * min.insync.replicas=2 and a group of two confluent-kafka members reads it, the broker that leads
 * the most partitions gets SIGTERM. It hands its leaderships over before it exits, so the
 * producer sees no error (librdkafka retries the retriable ones inside) and no pause of a second
 * between acknowledgements, and the consumers read every acknowledged record. After its restart
 * the preferred leaders (each partition's first replica) are back.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChildRun, repoRoot } from '../src/testing/broker-process.ts';
import { kcatConsume, PYTHON, requireConfluentKafka, requireKcat } from '../src/testing/clients.ts';
import { sleep, until, ZkCluster } from '../src/testing/zk-cluster.ts';
import { ZooKeeperServer } from '../src/testing/zookeeper.ts';

const TOPIC = 'steady';
const GROUP = 'steady-group';
const PARTITIONS = 6;
const RATE = 200;
const MAX_PAUSE_MS = 1000;
const SCRIPT = join(repoRoot(), 'test', 'fixtures', 'cluster', 'steady_clients.py');

interface ClientEvent {
  readonly ev: string;
  readonly i?: number;
  readonly p?: number;
  readonly sent?: number;
  readonly acked?: number;
  readonly t?: number;
  readonly o?: number;
  readonly name?: string;
  readonly err?: string | null;
  readonly error?: string;
  readonly retriable?: boolean;
  readonly unflushed?: number;
  readonly partitions?: number[];
}

let zookeeper: ZooKeeperServer;
let cluster: ZkCluster;
let control: string;

before(async () => {
  requireKcat();
  requireConfluentKafka();
  zookeeper = await ZooKeeperServer.start();
  cluster = await ZkCluster.start(zookeeper, 3);
  control = await mkdtemp(join(tmpdir(), 'tributary-cluster-shutdown-'));
});

after(async () => {
  await cluster?.stop();
  await zookeeper?.stop();
  if (control !== undefined) await rm(control, { recursive: true, force: true });
});

function events(child: ChildRun): ClientEvent[] {
  return child.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ClientEvent);
}

function assignedPartitions(child: ChildRun): number[] {
  let current: number[] = [];
  for (const e of events(child)) {
    if (e.ev === 'assign') current = e.partitions ?? [];
    if (e.ev === 'revoke') current = [];
  }
  return current;
}

/**
 * The longest stretch without an event, in ms, among the sorted `times` (seconds) that touches
 * [from, to]: a pause that began before the window or ended after it counts whole.
 */
function longestPause(times: readonly number[], from: number, to: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let longest = 0;
  for (let k = 1; k < sorted.length; k++) {
    const a = sorted[k - 1] as number;
    const b = sorted[k] as number;
    if (b >= from && a <= to) longest = Math.max(longest, b - a);
  }
  return Math.round(longest * 1000);
}

/** Partitions of TOPIC whose leader is not their first replica, as broker `id` answers. */
async function notPreferred(id: number): Promise<string[]> {
  const md = await cluster.metadata(id, TOPIC);
  const t = md.topics.find((x) => x.topic === TOPIC);
  if (t === undefined || t.partitions.length !== PARTITIONS) return ['(topic not yet known)'];
  return t.partitions
    .filter((p) => p.leader !== p.replicas[0]?.id)
    .map((p) => `${p.partition}: leader ${p.leader}, replicas ${p.replicas.map((r) => r.id)}`);
}

async function preferredEverywhere(): Promise<true | undefined> {
  for (const id of cluster.runningIds) {
    if ((await notPreferred(id)).length > 0) return undefined;
  }
  return true;
}

/**
 * Where the records the group never read are in the log (kcat reads it whole), what the members
 * read around them on those partitions, and the members' rebalances: for a failure message.
 */
async function explainMissing(
  missing: readonly number[],
  records: readonly ClientEvent[],
  members: readonly ChildRun[],
): Promise<string> {
  const lines: string[] = [];
  const log = await kcatConsume(cluster.bootstrap, TOPIC, { timeoutMs: 30_000 })
    .then((r) => r.records)
    .catch((err: unknown) => {
      lines.push(`kcat could not read the topic: ${String(err)}`);
      return [];
    });
  const where = new Map(log.map((r) => [Number(r.value?.toString()), r]));
  for (const i of missing.slice(0, 12)) {
    const r = where.get(i);
    if (r === undefined) {
      lines.push(`record ${i}: not in the log`);
      continue;
    }
    const near = records
      .filter((e) => e.p === r.partition && Math.abs((e.o ?? 0) - r.offset) <= 3)
      .map((e) => `${e.o}`);
    lines.push(`record ${i}: partition ${r.partition} offset ${r.offset}; read nearby: ${near}`);
  }
  for (const m of members) {
    const moves = events(m).filter((e) => e.ev === 'assign' || e.ev === 'revoke');
    lines.push(
      `${m.command.split(' ').at(-2)}: ${moves.map((e) => `${e.ev} ${e.partitions} at ${e.t?.toFixed(2)}`).join('; ')}`,
    );
  }
  return lines.join('\n');
}

describe('SIGTERM on the broker that leads the most partitions', () => {
  it('moves leadership first: no client error, no pause over a second, preferred leaders return', {
    timeout: 180_000,
  }, async (t) => {
    await until('three brokers in the metadata', async () =>
      (await cluster.metadata(1)).brokers.length === 3 ? true : undefined,
    );
    await cluster.createTopic(TOPIC, PARTITIONS, 3, { 'min.insync.replicas': '2' });
    await cluster.waitForIsr(TOPIC, 3);
    await until('preferred leaders before the clients start', preferredEverywhere, 30_000);

    const producerStop = join(control, 'stop-producer');
    const membersStop = join(control, 'stop-members');
    const producer = new ChildRun(
      PYTHON,
      [
        '-u',
        SCRIPT,
        'producer',
        cluster.bootstrap,
        TOPIC,
        String(PARTITIONS),
        String(RATE),
        producerStop,
      ],
      { timeoutMs: 170_000 },
    );
    const members = ['m1', 'm2'].map(
      (name) =>
        new ChildRun(
          PYTHON,
          ['-u', SCRIPT, 'member', cluster.bootstrap, TOPIC, GROUP, name, membersStop],
          {
            timeoutMs: 170_000,
          },
        ),
    );
    const clients = [producer, ...members];
    const everything = () =>
      `${clients
        .map(
          (c) =>
            `${c.command}\n${c.lines.slice(-10).join('\n')}\nstderr: ${c.stderr.slice(-2_000)}`,
        )
        .join('\n')}\n${cluster.describe()}`;
    const deliveries = () => events(producer).filter((e) => e.ev === 'delivery');
    const received = () => members.flatMap((m) => events(m).filter((e) => e.ev === 'record'));

    let victim = 0;
    let stopStart = 0;
    let stopEnd = 0;
    let restarted = 0;
    let preferredBack = 0;
    try {
      await until(
        'the producer acknowledged and both members sharing the partitions and reading',
        () => {
          const shared = members.every((m) => assignedPartitions(m).length > 0);
          const all = members.flatMap(assignedPartitions).length === PARTITIONS;
          const reading = members.every((m) => events(m).some((e) => e.ev === 'record'));
          return shared && all && reading && deliveries().length >= RATE * 2 ? true : undefined;
        },
        60_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${everything()}`);
      });
      // Steady flow for a moment before the stop, so the window starts in normal running.
      await sleep(1_500);

      const state = await cluster.leaders(TOPIC);
      assert.ok(state !== undefined, 'every partition has a leader');
      const led = new Map<number, number>();
      for (const p of state.partitions) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
      victim = [...led.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] as number;
      t.diagnostic(`leaders per broker ${JSON.stringify([...led])}; stopping broker ${victim}`);

      // While it stops, a survivor is asked every 50 ms who leads, to tell in the diagnostics
      // whether the time of the stop went before or after the leaderships moved.
      const survivor = cluster.runningIds.find((id) => id !== victim) as number;
      let stopping = true;
      let leadershipMovedAt: number | undefined;
      const watcher = (async () => {
        while (stopping && leadershipMovedAt === undefined) {
          const s = await cluster.leaders(TOPIC, survivor).catch(() => undefined);
          if (s?.partitions.every((p) => p.leader !== victim))
            leadershipMovedAt = Date.now() / 1000;
          await sleep(50);
        }
      })();
      stopStart = Date.now() / 1000;
      const exit = await cluster.broker(victim).stop(30_000);
      stopEnd = Date.now() / 1000;
      stopping = false;
      await watcher;
      t.diagnostic(
        `broker ${survivor} saw the leaderships leave broker ${victim} ${
          leadershipMovedAt === undefined
            ? 'only after its exit'
            : `${Math.round((leadershipMovedAt - stopStart) * 1000)} ms into the stop`
        }`,
      );
      assert.equal(
        exit.code,
        0,
        `broker ${victim} exits cleanly on SIGTERM\n${cluster.describe()}`,
      );
      t.diagnostic(`broker ${victim} took ${Math.round((stopEnd - stopStart) * 1000)} ms to stop`);

      // Leadership moved before the exit: the survivors name new leaders well within the 1.5 s
      // ZooKeeper session timeout that a killed broker would need before anyone noticed.
      await until(
        `no partition led by broker ${victim} on the survivors`,
        async () => {
          for (const id of cluster.runningIds) {
            const s = await cluster.leaders(TOPIC, id);
            if (s === undefined || s.partitions.some((p) => p.leader === victim)) return undefined;
          }
          return true;
        },
        500,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${cluster.describe()}`);
      });

      await sleep(3_000);
      await cluster.broker(victim).restart({ samePort: true });
      restarted = Date.now() / 1000;
      await until('preferred leaders back after the restart', preferredEverywhere, 30_000).catch(
        async (err: unknown) => {
          const lines = await Promise.all(cluster.runningIds.map((id) => notPreferred(id)));
          throw new Error(`${String(err)}: ${JSON.stringify(lines)}\n${cluster.describe()}`);
        },
      );
      preferredBack = Date.now() / 1000;
      await sleep(2_000);
    } finally {
      await writeFile(producerStop, '');
    }

    const producerDone = await producer.done;
    assert.equal(producerDone.code, 0, `the producer exits cleanly\n${everything()}`);
    const done = events(producer).find((e) => e.ev === 'done');
    assert.equal(done?.unflushed, 0, `every record delivered or failed at flush\n${everything()}`);
    const reports = deliveries();
    assert.equal(reports.length, done?.sent, 'a delivery report for every record sent');
    const failed = reports.filter((e) => e.err !== null);
    assert.deepEqual(
      failed
        .slice(0, 10)
        .map((e) => `${e.i} at ${((e.acked ?? 0) - stopStart).toFixed(2)} s: ${e.err}`),
      [],
      `no delivery error reached the application\n${everything()}`,
    );

    const acked = reports.map((e) => e.i as number);
    try {
      await until(
        'the group read every acknowledged record',
        () => {
          const seen = new Set(received().map((e) => e.i));
          return acked.every((i) => seen.has(i)) ? true : undefined;
        },
        40_000,
      ).catch(() => undefined);
    } finally {
      await writeFile(membersStop, '');
    }
    for (const m of members) {
      const r = await m.done;
      assert.equal(r.code, 0, `a member exits cleanly\n${everything()}`);
    }
    const seen = new Set(received().map((e) => e.i));
    const missing = acked.filter((i) => !seen.has(i));
    if (missing.length > 0) t.diagnostic(await explainMissing(missing, received(), members));
    assert.deepEqual(
      missing.slice(0, 20),
      [],
      `acknowledged records the group never read (${missing.length})`,
    );
    const consumeErrors = members.flatMap((m) => events(m).filter((e) => e.ev === 'consume-error'));
    assert.deepEqual(
      consumeErrors.filter((e) => e.retriable !== true).map((e) => e.error),
      [],
      'no fatal consume error',
    );

    // A pause counts per partition as well as overall: records of the partitions that moved can
    // wait while the others go on, which the overall stream of acknowledgements would hide.
    const stopWindow = { from: stopStart - 1, to: stopEnd + 3 };
    const restartWindow = { from: restarted - 1, to: preferredBack + 2 };
    const pauses = (times: (p?: number) => number[], w: { from: number; to: number }) => {
      const perPartition = Array.from({ length: PARTITIONS }, (_, p) =>
        longestPause(times(p), w.from, w.to),
      );
      return { overall: longestPause(times(), w.from, w.to), perPartition };
    };
    const ackTimes = (p?: number) =>
      reports.filter((e) => p === undefined || e.p === p).map((e) => e.acked as number);
    const readTimes = (p?: number) =>
      received()
        .filter((e) => p === undefined || e.p === p)
        .map((e) => e.t as number);
    const ackPause = pauses(ackTimes, stopWindow);
    const readPause = pauses(readTimes, stopWindow);
    const ackPauseRestart = pauses(ackTimes, restartWindow);
    const readPauseRestart = pauses(readTimes, restartWindow);
    const inStopWindow = reports.filter(
      (e) => (e.acked as number) >= stopWindow.from && (e.sent as number) <= stopWindow.to,
    );
    const worstLatency = Math.round(
      Math.max(0, ...inStopWindow.map((e) => (e.acked as number) - (e.sent as number))) * 1000,
    );
    const show = (x: { overall: number; perPartition: number[] }) =>
      `${x.overall} ms (per partition ${x.perPartition.join('/')})`;
    const measured =
      `around the stop (${Math.round((stopEnd - stopStart) * 1000)} ms): longest pause between ` +
      `acks ${show(ackPause)}, between reads ${show(readPause)}, worst send-to-ack ` +
      `${worstLatency} ms; around the restart and leader return: acks ${show(ackPauseRestart)}, ` +
      `reads ${show(readPauseRestart)}`;
    t.diagnostic(
      `${reports.length} acknowledged, ${consumeErrors.length} retriable consume errors; ${measured}`,
    );
    const worstAckPause = Math.max(ackPause.overall, ...ackPause.perPartition);
    assert.ok(
      worstAckPause < MAX_PAUSE_MS,
      `the producer paused ${worstAckPause} ms around the stop of broker ${victim}: ${measured}\n` +
        `${cluster.broker(victim).describe()}\n${cluster.describe()}`,
    );
  });
});
