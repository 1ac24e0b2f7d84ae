/**
 * kafka-python 2.0.2's group consumer (under /usr/bin/python3) against a broker child process,
 * in its current protocol and in its 0.9 mode (JoinGroup v0, OffsetCommit v2, OffsetFetch v1):
 * two consumers split the partitions, commit, and a consumer started later in the same group
 * finds nothing left to read and the committed offsets at the end of each partition.
 */
import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, test } from 'node:test';
import { BrokerProcess, ChildRun, describeRun } from '../src/testing/broker-process.ts';
import {
  kcatProduce,
  PYTHON,
  requireKafkaPython,
  requireKcat,
  topicName,
} from '../src/testing/clients.ts';

const SCRIPT = `
import json, sys
from kafka import KafkaConsumer, TopicPartition
bootstrap, group, topic, want, mode, partitions = sys.argv[1:7]
kw = {'api_version': (0, 9)} if mode == '0.9' else {}
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset='earliest',
                  enable_auto_commit=False, consumer_timeout_ms=3000, session_timeout_ms=10000,
                  heartbeat_interval_ms=500, **kw)
c.subscribe([topic])
seen = []
for m in c:
    seen.append([m.partition, m.offset])
    c.commit()
    if len(seen) >= int(want):
        break
committed = {str(p): c.committed(TopicPartition(topic, p)) for p in range(int(partitions))}
assigned = sorted(tp.partition for tp in c.assignment())
c.close()
print(json.dumps({'seen': seen, 'committed': committed, 'assigned': assigned}), flush=True)
`;

const PARTITIONS = 4;
const PER_PARTITION = 25;

interface Report {
  seen: [number, number][];
  committed: Record<string, number | null>;
  assigned: number[];
}

function report(lines: readonly string[], r: { stderr: string }): Report {
  const last = lines.filter((l) => l.startsWith('{')).pop();
  if (last === undefined) throw new Error(`no report\n${r.stderr}`);
  return JSON.parse(last) as Report;
}

async function consume(
  bootstrap: string,
  group: string,
  topic: string,
  want: number,
  mode: string,
) {
  const args = [
    '-u',
    '-c',
    SCRIPT,
    bootstrap,
    group,
    topic,
    String(want),
    mode,
    String(PARTITIONS),
  ];
  const child = new ChildRun(PYTHON, args, { timeoutMs: 60_000 });
  const r = await child.done;
  assert.equal(r.code, 0, describeRun(r));
  return report(child.lines, r);
}

describe('kafka-python group consumer', () => {
  let broker: BrokerProcess;

  beforeEach(() => {
    requireKafkaPython();
    requireKcat();
  });

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        'num.partitions': String(PARTITIONS),
        'group.initial.rebalance.delay.ms': '1000',
        'offsets.topic.num.partitions': '3',
      },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  for (const mode of ['current', '0.9']) {
    test(`${mode} protocol: two consumers split the partitions; commits are kept`, async () => {
      const topic = topicName(`kp${mode.replace('.', '')}`);
      const group = topicName('gkp');
      for (let p = 0; p < PARTITIONS; p++) {
        const lines = Array.from({ length: PER_PARTITION }, (_, i) => `v${p}-${i}`);
        await kcatProduce(broker.bootstrap, topic, `${lines.join('\n')}\n`, { partition: p });
      }
      const total = PARTITIONS * PER_PARTITION;
      const [a, b] = await Promise.all([
        consume(broker.bootstrap, group, topic, total, mode),
        consume(broker.bootstrap, group, topic, total, mode),
      ]);
      const all = [...a.seen, ...b.seen].map(([p, o]) => `${p}:${o}`);
      assert.equal(new Set(all).size, total, `every record read: ${JSON.stringify([a, b])}`);
      const later = await consume(broker.bootstrap, group, topic, 1, mode);
      assert.deepEqual(later.seen, [], 'everything was committed');
      assert.deepEqual(later.committed, {
        0: PER_PARTITION,
        1: PER_PARTITION,
        2: PER_PARTITION,
        3: PER_PARTITION,
      });
    });
  }
});
