/**
 * Rebalances under concurrency with real clients: up to ten confluent-kafka (librdkafka 2.0.2)
 * consumer processes join, leave (close) and die (SIGKILL) at random, then the churn stops and
 * the group must settle: the live consumers' assignments cover every partition exactly once,
 * and the coordinator describes the group as Stable with exactly those members.
 * GROUP_CHURN_SECONDS sets the churn duration (default 20; the issue's acceptance run is 60).
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, test } from 'node:test';
import { BrokerProcess, ChildRun, run } from '../src/testing/broker-process.ts';
import {
  kcatProduce,
  PYTHON,
  requireConfluentKafka,
  requireKcat,
  topicName,
} from '../src/testing/clients.ts';

const CONSUMER = `
import json, signal, sys
from confluent_kafka import Consumer
bootstrap, group, topic, name = sys.argv[1:5]
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'client.id': name,
              'enable.auto.commit': True, 'auto.commit.interval.ms': 200,
              'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000,
              'heartbeat.interval.ms': 500})
running = True
def stop(*_):
    global running
    running = False
signal.signal(signal.SIGTERM, stop)
c.subscribe([topic])
last = None
while running:
    c.poll(0.1)
    a = sorted(tp.partition for tp in c.assignment())
    if a != last:
        last = a
        print(json.dumps({'assignment': a}), flush=True)
c.close()
`;

const DESCRIBE = `
import json, sys
from confluent_kafka.admin import AdminClient
bootstrap, group = sys.argv[1:3]
g = AdminClient({'bootstrap.servers': bootstrap}).list_groups(group, timeout=10)[0]
print(json.dumps({'state': g.state, 'members': sorted(m.client_id for m in g.members)}), flush=True)
`;

const PARTITIONS = 12;
const SECONDS = Number(process.env['GROUP_CHURN_SECONDS'] ?? '20');

interface Latest {
  assignment: number[];
}

function latest(c: ChildRun): Latest {
  const lines = c.lines.filter((l) => l.startsWith('{'));
  const last = lines[lines.length - 1];
  return last === undefined ? { assignment: [] } : (JSON.parse(last) as Latest);
}

/** Deterministic PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function settled(live: ChildRun[]): boolean {
  const owned = live.flatMap((c) => latest(c).assignment).sort((a, b) => a - b);
  return (
    live.every((c) => c.running) &&
    JSON.stringify(owned) === JSON.stringify(Array.from({ length: PARTITIONS }, (_, p) => p))
  );
}

describe('consumer group churn with real clients', () => {
  let broker: BrokerProcess;

  beforeEach(() => {
    requireConfluentKafka();
    requireKcat();
  });

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { 'num.partitions': String(PARTITIONS), 'group.initial.rebalance.delay.ms': '0' },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  test(`ten consumers joining, leaving and dying for ${SECONDS} s end stable, each partition owned once`, {
    timeout: (SECONDS + 150) * 1000,
  }, async () => {
    const topic = topicName('churn');
    const group = topicName('gchurn');
    await kcatProduce(broker.bootstrap, topic, 'x\n', { partition: 0 });
    const random = prng(20261127);
    const all: ChildRun[] = [];
    const names = new Map<ChildRun, string>();
    const spawn = (name: string) => {
      const args = ['-u', '-c', CONSUMER, broker.bootstrap, group, topic, name];
      const c = new ChildRun(PYTHON, args, { timeoutMs: (SECONDS + 140) * 1000 });
      all.push(c);
      names.set(c, name);
      return c;
    };
    let live = [0, 1, 2].map((i) => spawn(`c${i}`));
    let n = 3;
    try {
      const end = performance.now() + SECONDS * 1000;
      while (performance.now() < end) {
        await new Promise((r) => setTimeout(r, 300 + random() * 700));
        const roll = random();
        if (roll < 0.5 && live.length < 10) {
          live.push(spawn(`c${n++}`));
        } else if (live.length > 1) {
          const victim = live[Math.floor(random() * live.length)] as ChildRun;
          victim.kill(roll < 0.75 ? 'SIGTERM' : 'SIGKILL');
          live = live.filter((c) => c !== victim);
        }
      }
      while (live.length < 3) live.push(spawn(`c${n++}`));
      const deadline = performance.now() + 90_000;
      while (!settled(live)) {
        if (performance.now() > deadline) {
          const state = live.map((c) => `${names.get(c)} ${JSON.stringify(latest(c))} ${c.stderr}`);
          assert.fail(`no stable assignment after churn:\n${state.join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const described = await run(PYTHON, ['-u', '-c', DESCRIBE, broker.bootstrap, group]);
      const d = JSON.parse(described.stdout.toString('utf8').trim()) as {
        state: string;
        members: string[];
      };
      assert.equal(d.state, 'Stable', JSON.stringify(d));
      assert.deepEqual(d.members, live.map((c) => names.get(c)).sort());
    } finally {
      for (const c of all) c.kill('SIGTERM');
      await Promise.all(all.map((c) => c.done));
    }
  });
});
