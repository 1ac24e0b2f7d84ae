/**
 * Consumer groups with real clients as separate processes against a broker child process:
 * confluent-kafka (librdkafka 2.0.2) consumers under /usr/bin/python3 subscribing and committing
 * each record, and kcat's balanced consumer (`-G`). Covers the spread of partitions, a consumer
 * killed with SIGKILL (its partitions move after the session timeout, nothing committed is read
 * again beyond at-least-once), a newcomer spreading them again, static membership across a
 * restart, cooperative-sticky rebalancing (incremental, as the protocol trace of an in-process
 * broker shows), and committed offsets surviving a broker restart.
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { TraceEntry } from '../src/index.ts';
import { decodeConsumerProtocolSubscription } from '../src/protocol/messages/consumer-protocol-subscription.ts';
import type { JoinGroupRequest } from '../src/protocol/messages/join-group-request.ts';
import type { JoinGroupResponse } from '../src/protocol/messages/join-group-response.ts';
import { Reader } from '../src/protocol/reader.ts';
import { BrokerProcess, ChildRun, describeRun, run } from '../src/testing/broker-process.ts';
import {
  KCAT,
  kcatProduce,
  PYTHON,
  requireConfluentKafka,
  requireKcat,
  topicName,
} from '../src/testing/clients.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

const CONSUMER = `
import json, signal, sys
from confluent_kafka import Consumer, KafkaError
bootstrap, group, topic, name = sys.argv[1:5]
conf = {'bootstrap.servers': bootstrap, 'group.id': group, 'client.id': name,
        'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
        'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500,
        'enable.partition.eof': False}
conf.update(json.loads(sys.argv[5]) if len(sys.argv) > 5 else {})
running = True
def stop(*_):
    global running
    running = False
signal.signal(signal.SIGTERM, stop)
def out(o):
    print(json.dumps(o), flush=True)
c = Consumer(conf)
c.subscribe([topic])
last = None
while running:
    m = c.poll(0.1)
    a = sorted(tp.partition for tp in c.assignment())
    if a != last:
        last = a
        out({'event': 'assignment', 'partitions': a})
    if m is None:
        continue
    if m.error():
        out({'event': 'error', 'error': str(m.error())})
        continue
    out({'event': 'msg', 'p': m.partition(), 'o': m.offset()})
    try:
        c.commit(message=m, asynchronous=False)
    except Exception as e:
        # A commit racing a rebalance may be refused (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS)
        # exactly as Kafka refuses it; the record is then read again (at-least-once).
        out({'event': 'commit_error', 'error': str(e)})
c.close()
out({'event': 'closed'})
`;

const PARTITIONS = 6;
const PER_PARTITION = 50;

interface Event {
  event: string;
  partitions?: number[];
  p?: number;
  o?: number;
  error?: string;
}

function events(c: ChildRun): Event[] {
  return c.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
}

function assignment(c: ChildRun): number[] {
  const all = events(c).filter((e) => e.event === 'assignment');
  return all[all.length - 1]?.partitions ?? [];
}

function consumed(c: ChildRun): string[] {
  return events(c)
    .filter((e) => e.event === 'msg')
    .map((e) => `${e.p}:${e.o}`);
}

function consumer(
  bootstrap: string,
  group: string,
  topic: string,
  name: string,
  extra: Record<string, unknown> = {},
): ChildRun {
  const args = ['-u', '-c', CONSUMER, bootstrap, group, topic, name, JSON.stringify(extra)];
  return new ChildRun(PYTHON, args, { timeoutMs: 180_000 });
}

/** Waits until the consumers' latest assignments have these sizes and cover every partition. */
async function waitForSpread(cs: ChildRun[], sizes: number[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const got = cs.map((c) => assignment(c));
    const union = new Set(got.flat());
    const ok =
      union.size === PARTITIONS &&
      got.flat().length === PARTITIONS &&
      JSON.stringify(got.map((a) => a.length).sort()) === JSON.stringify([...sizes].sort());
    if (ok) return;
    if (performance.now() > deadline) {
      const why = cs.map((c) => `${c.command.slice(-40)}: ${JSON.stringify(got)}\n${c.stderr}`);
      throw new Error(`assignments did not spread as ${JSON.stringify(sizes)}:\n${why.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForConsumed(cs: ChildRun[], want: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (new Set(cs.flatMap((c) => consumed(c))).size < want) {
    if (performance.now() > deadline) {
      const n = new Set(cs.flatMap((c) => consumed(c))).size;
      throw new Error(`consumed ${n} of ${want}\n${cs.map((c) => c.stderr).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function produce(bootstrap: string, topic: string, round: number): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) {
    const lines = Array.from({ length: PER_PARTITION }, (_, i) => `r${round}-p${p}-${i}`);
    await kcatProduce(bootstrap, topic, `${lines.join('\n')}\n`, { partition: p });
  }
}

async function stopAll(cs: ChildRun[]): Promise<void> {
  for (const c of cs) c.kill('SIGTERM');
  await Promise.all(cs.map((c) => c.done));
}

describe('consumer groups with real clients', () => {
  let broker: BrokerProcess;

  beforeEach(() => {
    requireConfluentKafka();
    requireKcat();
  });

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        'num.partitions': String(PARTITIONS),
        'group.initial.rebalance.delay.ms': '0',
        'offsets.topic.num.partitions': '5',
      },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('three consumers share six partitions; a killed one is replaced; a fourth spreads them', async () => {
    const topic = topicName('grp');
    const group = topicName('g');
    await produce(broker.bootstrap, topic, 0);
    const cs = ['a', 'b', 'c'].map((n) => consumer(broker.bootstrap, group, topic, n));
    try {
      await waitForSpread(cs, [2, 2, 2], 30_000);
      await waitForConsumed(cs, PARTITIONS * PER_PARTITION, 30_000);
      const [a, b, c] = cs as [ChildRun, ChildRun, ChildRun];
      const killedPartitions = assignment(c);
      c.kill('SIGKILL');
      await c.done;
      await waitForSpread([a, b], [3, 3], 30_000);
      await produce(broker.bootstrap, topic, 1);
      await waitForConsumed([a, b, c], 2 * PARTITIONS * PER_PARTITION, 30_000);
      const all = [a, b, c].flatMap((x) => consumed(x));
      const dupes = all.length - new Set(all).size;
      // Each record is committed right after it is printed: at most one per partition of the
      // killed consumer can be read twice, plus those whose commit raced a rebalance.
      const refused = [a, b, c].flatMap((x) => events(x)).filter((e) => e.event === 'commit_error');
      assert.ok(dupes <= killedPartitions.length + refused.length, `${dupes} records read twice`);
      const d = consumer(broker.bootstrap, group, topic, 'd');
      cs.push(d);
      await waitForSpread([a, b, d], [2, 2, 2], 30_000);
    } finally {
      await stopAll(cs);
    }
    for (const c of cs.slice(0, 2)) {
      assert.deepEqual(
        events(c).filter((e) => e.event === 'error'),
        [],
        describeRun(await c.done),
      );
    }
  });

  test('a static member restarted within the session timeout keeps its partitions', async () => {
    const topic = topicName('static');
    const group = topicName('gs');
    await produce(broker.bootstrap, topic, 0);
    const stat = (n: string) =>
      consumer(broker.bootstrap, group, topic, n, { 'group.instance.id': `inst-${n}` });
    const a = stat('a');
    let b = stat('b');
    try {
      await waitForSpread([a, b], [3, 3], 30_000);
      const before = assignment(b);
      const aEvents = events(a).length;
      b.kill('SIGKILL');
      await b.done;
      b = stat('b');
      await waitForSpread([a, b], [3, 3], 30_000);
      assert.deepEqual(assignment(b), before);
      const aAssignments = events(a)
        .slice(aEvents)
        .filter((e) => e.event === 'assignment');
      assert.deepEqual(aAssignments, [], 'the other member saw no rebalance');
    } finally {
      await stopAll([a, b]);
    }
  });

  test('kcat balanced consumers (-G) and committed offsets across a broker restart', async () => {
    const topic = topicName('kg');
    const group = topicName('gk');
    await produce(broker.bootstrap, topic, 0);
    const first = consumer(broker.bootstrap, group, topic, 'a');
    try {
      await waitForConsumed([first], PARTITIONS * PER_PARTITION, 30_000);
    } finally {
      await stopAll([first]);
    }
    await broker.restart();
    await produce(broker.bootstrap, topic, 1);
    // kcat -G resumes from the committed offsets: only the second round is new to it.
    const args = ['-b', broker.bootstrap, '-G', group, '-e', '-q', '-f', '%s\\n', topic];
    const r = await run(KCAT, ['-X', 'auto.commit.interval.ms=100', ...args], {
      timeoutMs: 40_000,
    });
    const got = r.stdout
      .toString('utf8')
      .trim()
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(got.length, PARTITIONS * PER_PARTITION, describeRun(r));
    assert.ok(
      got.every((l) => l.startsWith('r1-')),
      describeRun(r),
    );
  });
});

/** Each JoinGroup of `group` in the trace: who sent it, the partitions it says it owns, the answer. */
function joinGroups(trace: readonly TraceEntry[], group: string) {
  return trace
    .filter((e) => e.api === 'JoinGroup' && (e.request as JoinGroupRequest).groupId === group)
    .map((e) => {
      const request = e.request as JoinGroupRequest;
      const response = e.response as JoinGroupResponse;
      const owned = request.protocols.map((p) => {
        const r = new Reader(p.metadata);
        const version = r.readInt16();
        const subscription = decodeConsumerProtocolSubscription(r, Math.min(version, 3));
        return subscription.ownedPartitions.flatMap((t) => t.partitions).sort((x, y) => x - y);
      });
      return {
        client: e.clientId,
        protocols: request.protocols.map((p) => p.name),
        owned: owned[0] ?? [],
        errorCode: response.errorCode,
        chosen: response.protocolName,
      };
    });
}

// The broker in this process, so the protocol trace shows what the clients and the broker said.
describe('cooperative-sticky rebalancing, as the protocol trace shows it', () => {
  let broker: InProcessBroker;

  beforeEach(() => {
    requireConfluentKafka();
    requireKcat();
  });

  before(async () => {
    broker = await InProcessBroker.start({
      storage: 'memory',
      trace: true,
      config: {
        'num.partitions': PARTITIONS,
        'group.initial.rebalance.delay.ms': 0,
        'offsets.topic.num.partitions': 5,
      },
    });
  });

  after(async () => {
    await broker?.stop();
  });

  test('members join incrementally: owners rejoin keeping their partitions, never revoking all', async () => {
    const topic = topicName('coop');
    const group = topicName('gc');
    await produce(broker.bootstrap, topic, 0);
    const coop = { 'partition.assignment.strategy': 'cooperative-sticky' };
    const cs = [consumer(broker.bootstrap, group, topic, 'a', coop)];
    try {
      await waitForSpread(cs, [6], 30_000);
      cs.push(consumer(broker.bootstrap, group, topic, 'b', coop));
      await waitForSpread(cs, [3, 3], 30_000);
      cs.push(consumer(broker.bootstrap, group, topic, 'c', coop));
      await waitForSpread(cs, [2, 2, 2], 30_000);
      await waitForConsumed(cs, PARTITIONS * PER_PARTITION, 30_000);
    } finally {
      await stopAll(cs);
    }
    const joins = joinGroups(broker.trace, group);
    const shown = JSON.stringify(joins);
    const answered = joins.filter((j) => j.errorCode === 0);
    assert.ok(answered.length > 0, shown);
    assert.ok(
      answered.every((j) => j.chosen === 'cooperative-sticky'),
      `the group runs cooperative-sticky: ${shown}`,
    );
    // Eager members revoke everything before they rejoin, so they own nothing in JoinGroup.
    // Cooperative ones rejoin owning what they hold: a with all six when b comes, and later with
    // what it kept; once a member owns partitions, no rejoin of it comes back owning none.
    const a = joins.filter((j) => j.client === 'a').map((j) => j.owned.length);
    assert.ok(a.includes(PARTITIONS), `a rejoined owning all ${PARTITIONS}: ${shown}`);
    assert.ok(a.includes(PARTITIONS / 2), `a rejoined owning the half it kept: ${shown}`);
    for (const name of ['a', 'b', 'c']) {
      const owned = joins.filter((j) => j.client === name).map((j) => j.owned.length);
      const first = owned.findIndex((n) => n > 0);
      assert.ok(
        first < 0 || owned.slice(first).every((n) => n > 0),
        `${name} revoked all its partitions before a rejoin: ${owned}`,
      );
    }
  });
});
