/**
 * The log cleaner's state, visible from outside: after kcat writes updates to a compacted topic
 * and the cleaner cleans it, `tributary topics describe` shows each partition's dirty ratio, last
 * cleaning time and cleaner checkpoint (text and JSON, from Tributary's DescribeLogDirs extension
 * tag), and /metrics Kafka's cleaner gauges; a topic that is not compacted shows none; and Apache Kafka 3.9's kafka-log-dirs, which
 * does not know the tag, still reads the same DescribeLogDirs answer.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun, type RunOptions, run } from '../src/testing/broker-process.ts';
import { kcatProduce, requireKcat } from '../src/testing/clients.ts';
import { parsePrometheusText, sampleValue } from '../src/testing/prometheus-text.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], options);
}

interface DescribedPartition {
  partition: number;
  latestOffset: number;
  cleaner?: {
    dirtyRatio: number;
    cleanableBytes: number;
    lastCleanedMs: number | null;
    checkpointOffset: number;
    cleaning: boolean;
    uncleanable: boolean;
  } | null;
}

describe('cleaner state in tributary topics describe and DescribeLogDirs', () => {
  let broker: BrokerProcess;
  let b: string[];
  const topic = 'cleaned-topic';

  before(async () => {
    requireKcat();
    broker = await BrokerProcess.start({
      overrides: { 'log.cleaner.backoff.ms': '100', 'metrics.listener': 'http://127.0.0.1:0' },
    });
    b = ['--bootstrap-server', broker.bootstrap];
    const configs = [
      'cleanup.policy=compact',
      'segment.bytes=2048',
      'min.cleanable.dirty.ratio=0.01',
    ].flatMap((c) => ['--config', c]);
    const created = await tributary([
      'topics',
      'create',
      topic,
      '--partitions',
      '1',
      ...configs,
      ...b,
    ]);
    assert.equal(created.code, 0, describeRun(created));
    const plain = await tributary(['topics', 'create', 'plain-topic', '--partitions', '1', ...b]);
    assert.equal(plain.code, 0, describeRun(plain));
  });

  after(async () => {
    await broker?.cleanup();
  });

  async function describeJson(name: string): Promise<DescribedPartition[]> {
    const r = await tributary(['topics', 'describe', name, '--json', ...b]);
    assert.equal(r.code, 0, describeRun(r));
    const [t] = JSON.parse(r.stdout.toString()) as { partitions: DescribedPartition[] }[];
    assert.ok(t !== undefined, r.stdout.toString());
    return t.partitions;
  }

  test('a compacted topic shows its cleaner state once cleaned', async () => {
    const before = await describeJson(topic);
    assert.equal(before[0]?.cleaner?.lastCleanedMs, null, 'never cleaned before any write');
    // 600 updates of 20 keys in 6 runs (a batch or more each) over segments of 2 KiB: several
    // closed segments, most of their records superseded.
    for (let run = 0; run < 6; run++) {
      const lines = Array.from({ length: 100 }, (_, i) => `k${i % 20}:value ${run * 100 + i}`);
      await kcatProduce(broker.bootstrap, topic, `${lines.join('\n')}\n`, {
        keyDelimiter: ':',
        extra: ['-X', 'acks=all'],
      });
    }
    const startMs = Date.now();
    let p: DescribedPartition | undefined;
    for (let i = 0; i < 300; i++) {
      [p] = await describeJson(topic);
      if (p?.cleaner?.lastCleanedMs !== null && p?.cleaner?.lastCleanedMs !== undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const c = p?.cleaner;
    assert.ok(c !== undefined && c !== null && c.lastCleanedMs !== null, JSON.stringify(p));
    assert.ok(c.lastCleanedMs >= startMs - 60_000 && c.lastCleanedMs <= Date.now(), String(c));
    assert.ok(c.checkpointOffset > 0 && c.checkpointOffset <= 600, JSON.stringify(c));
    assert.ok(c.dirtyRatio >= 0 && c.dirtyRatio <= 1, JSON.stringify(c));
    assert.equal(c.uncleanable, false);
    assert.equal(p?.latestOffset, 600);

    const text = await tributary(['topics', 'describe', topic, ...b]);
    assert.equal(text.code, 0, describeRun(text));
    const out = text.stdout.toString();
    const [header, row] = out.split('\n').filter((l) => /^\s*(PARTITION|0)\s/.test(l));
    assert.match(header ?? '', /DIRTY-RATIO\s+LAST-CLEANED\s+CLEANER-CHECKPOINT/, out);
    const cells = (row ?? '').trim().split(/\s+/);
    // The cleaner may have cleaned again since the JSON answer: the text shows the same cleaning
    // or a later one.
    const cleaned = cells.find((cell) => /^\d{4}-\d\d-\d\dT/.test(cell));
    assert.ok(
      cleaned !== undefined && Date.parse(cleaned) >= c.lastCleanedMs,
      `a last cleaning time at or after ${new Date(c.lastCleanedMs).toISOString()} in: ${out}`,
    );
    const checkpoint = Number(cells.at(-1));
    assert.ok(checkpoint >= c.checkpointOffset && checkpoint <= 600, out);

    // Kafka's cleaner gauges: a cleaning happened, and it wrote less than it read.
    const m = /metrics on (http:\/\/127\.0\.0\.1:\d+)/.exec(broker.stdout);
    assert.ok(m !== null, broker.stdout);
    const res = await fetch(`${m[1]}/metrics`);
    const families = parsePrometheusText(await res.text());
    const recopy = sampleValue(families, 'kafka_log_logcleaner_cleaner_recopy_percent');
    assert.ok(recopy !== undefined && recopy > 0 && recopy < 100, String(recopy));
    const dirty = sampleValue(families, 'kafka_log_logcleanermanager_max_dirty_percent');
    assert.ok(dirty !== undefined && dirty >= 0 && dirty <= 100, String(dirty));
    const secs = sampleValue(families, 'kafka_log_logcleaner_max_clean_time_secs');
    assert.ok(secs !== undefined && secs >= 0, String(secs));
  });

  test('a topic that is not compacted has no cleaner columns', async () => {
    const [p] = await describeJson('plain-topic');
    assert.equal(p?.cleaner, undefined);
    const text = await tributary(['topics', 'describe', 'plain-topic', ...b]);
    assert.doesNotMatch(text.stdout.toString(), /DIRTY-RATIO/);
  });

  test("Kafka 3.9's kafka-log-dirs reads DescribeLogDirs with the extension tag", async () => {
    const dirs = await kafkaTool('logDirs', [
      '--bootstrap-server',
      broker.bootstrap,
      '--describe',
      '--topic-list',
      topic,
    ]);
    const json = dirs.split('\n').find((l) => l.startsWith('{'));
    assert.ok(json !== undefined, dirs);
    const described = JSON.parse(json) as {
      brokers: {
        logDirs: { error: unknown; partitions: { partition: string; size: number }[] }[];
      }[];
    };
    const dir = described.brokers[0]?.logDirs[0];
    assert.equal(dir?.error, null, dirs);
    const partition = dir?.partitions.find((x) => x.partition === `${topic}-0`);
    assert.ok(partition !== undefined && partition.size > 0, dirs);
  });
});
