/**
 * metrics.listener against a broker child process: /health and /ready, and /metrics parsed with
 * a strict text-format parser after kcat produced and a kcat group member (-G) consumed: records
 * and bytes in by topic, requests per API, log end offsets, a group's lag against its commit.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, ChildRun, describeRun, run, sleep } from '../src/testing/broker-process.ts';
import { KCAT, kcatProduce, requireKcat, topicName } from '../src/testing/clients.ts';
import { type Family, parsePrometheusText, sampleValue } from '../src/testing/prometheus-text.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

function cli(...args: string[]) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], {
    timeoutMs: 30_000,
  });
}

/** Polls `check` every 100 ms (up to 10 s) until it holds; the last failure otherwise. */
async function eventually(what: string, check: () => Promise<void>): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      await check();
      return;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${what}: ${String(last)}`);
}

async function scrape(url: string): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

function lines(n: number, tag: string): string {
  return Array.from({ length: n }, (_, i) => `${tag} record ${i} ${'x'.repeat(i % 30)}\n`).join('');
}

describe('metrics endpoint (metrics.listener)', () => {
  let broker: BrokerProcess;
  let url: string;

  before(async () => {
    requireKcat();
    broker = await BrokerProcess.start({
      overrides: {
        'metrics.listener': 'http://127.0.0.1:0',
        'group.initial.rebalance.delay.ms': '0',
      },
    });
    const m = /metrics on (http:\/\/127\.0\.0\.1:\d+)/.exec(broker.stdout);
    assert.ok(m !== null, `no metrics address in the ready line: ${broker.stdout}`);
    url = m[1] as string;
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('/health and /ready answer 200 once the broker serves; other paths 404, POST 405', async () => {
    assert.equal((await fetch(`${url}/health`)).status, 200);
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    assert.equal((await fetch(`${url}/nothing`)).status, 404);
    assert.equal((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);
  });

  test('records and bytes in grow by what kcat produced; requests are counted per API', async () => {
    const topic = topicName('metrics-in');
    const n = 37;
    const input = lines(n, topic);
    const before = await scrape(url);
    const inBefore = sampleValue(before, 'kafka_server_brokertopicmetrics_messagesin_total', {
      topic,
    });
    await kcatProduce(broker.bootstrap, topic, input);
    const m = await scrape(url);
    const messagesIn = sampleValue(m, 'kafka_server_brokertopicmetrics_messagesin_total', {
      topic,
    });
    assert.equal((messagesIn ?? 0) - (inBefore ?? 0), n);
    const bytesIn = sampleValue(m, 'kafka_server_brokertopicmetrics_bytesin_total', { topic });
    const payloadBytes = Buffer.byteLength(input) - n; // without the newlines
    assert.ok((bytesIn ?? 0) >= payloadBytes, `bytes in ${bytesIn} < payload ${payloadBytes}`);
    assert.equal(m.get('kafka_server_brokertopicmetrics_messagesin_total')?.type, 'counter');
    const part = { topic, partition: '0' };
    assert.equal(sampleValue(m, 'kafka_log_log_logendoffset', part), n);
    assert.ok((sampleValue(m, 'kafka_log_log_size', part) ?? 0) >= payloadBytes);
    for (const api of ['Produce', 'Metadata', 'ApiVersions']) {
      const count = sampleValue(m, 'kafka_network_requestmetrics_requests_total', { request: api });
      assert.ok((count ?? 0) >= 1, `${api}: ${count}`);
      const time = { request: api, quantile: '0.99' };
      assert.ok((sampleValue(m, 'kafka_network_requestmetrics_totaltimems', time) ?? -1) >= 0);
      const timed = sampleValue(m, 'kafka_network_requestmetrics_totaltimems_count', {
        request: api,
      });
      assert.equal(timed, count);
    }
    assert.equal(m.get('kafka_network_requestmetrics_totaltimems')?.type, 'summary');
    assert.equal(sampleValue(m, 'kafka_server_replicamanager_underreplicatedpartitions'), 0);
    assert.equal(sampleValue(m, 'kafka_controller_kafkacontroller_activecontrollercount'), 1);
    assert.equal(sampleValue(m, 'kafka_controller_kafkacontroller_offlinepartitionscount'), 0);
    assert.equal(sampleValue(m, 'kafka_server_replicamanager_isrshrinks_total'), 0);
    assert.ok((sampleValue(m, 'nodejs_eventloop_lag_seconds') ?? -1) >= 0);
    assert.ok(m.has('nodejs_gc_duration_seconds'), 'the GC pause histogram');
  });

  test("a kcat group member's lag is the high watermark minus what the group committed", async () => {
    const topic = topicName('metrics-lag');
    const group = `${topic}-readers`;
    const first = lines(10, 'first');
    await kcatProduce(broker.bootstrap, topic, first);
    // kcat -G reads to the end (-e) and commits what it read as it leaves.
    const args = ['-b', broker.bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest'];
    const read = await run(KCAT, [...args, '-e', '-q', topic], { timeoutMs: 30_000 });
    assert.equal(read.code, 0, describeRun(read));
    await kcatProduce(broker.bootstrap, topic, lines(7, 'second'));
    const labels = { group, topic, partition: '0' };
    let m = await scrape(url);
    for (let i = 0; i < 50 && sampleValue(m, 'kafka_consumergroup_lag', labels) !== 7; i++) {
      await sleep(100);
      m = await scrape(url);
    }
    // The commit as the group coordinator answers OffsetFetch, and the partition's end.
    const described = await run(process.execPath, [
      '--input-type=module',
      '-e',
      SCRIPT,
      'groups',
      'describe',
      group,
      '--json',
      '--bootstrap-server',
      broker.bootstrap,
    ]);
    assert.equal(described.code, 0, describeRun(described));
    const d = JSON.parse(described.stdout.toString()) as {
      offsets: { topic: string; partition: number; committed: number; logEnd: number }[];
    };
    const o = d.offsets.find((x) => x.topic === topic && x.partition === 0);
    assert.deepEqual([o?.committed, o?.logEnd], [10, 17]);
    assert.equal(sampleValue(m, 'kafka_consumergroup_current_offset', labels), o?.committed);
    assert.equal(sampleValue(m, 'kafka_consumergroup_lag', labels), 17 - 10);
    const bytesOut = sampleValue(m, 'kafka_server_brokertopicmetrics_bytesout_total', { topic });
    const read10 = Buffer.byteLength(first) - 10;
    assert.ok((bytesOut ?? 0) >= read10, `bytes out ${bytesOut} < what was read ${read10}`);
  });

  test('the lag per partition is the LAG column of `tributary groups describe --json`; every API the clients used has a request time', async () => {
    const topic = topicName('metrics-describe');
    const group = `${topic}-readers`;
    const created = await cli(
      'topics',
      'create',
      topic,
      '--partitions',
      '3',
      '--bootstrap-server',
      broker.bootstrap,
    );
    assert.equal(created.code, 0, describeRun(created));
    const first = [5, 8, 12];
    for (const [partition, n] of first.entries()) {
      await kcatProduce(broker.bootstrap, topic, lines(n, `p${partition}`), { partition });
    }
    // The group reads everything there is and commits it as it leaves; then more arrives.
    const args = ['-b', broker.bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest'];
    const read = await run(KCAT, [...args, '-e', '-q', topic], { timeoutMs: 30_000 });
    assert.equal(read.code, 0, describeRun(read));
    const second = [3, 0, 6];
    for (const [partition, n] of second.entries()) {
      if (n > 0) await kcatProduce(broker.bootstrap, topic, lines(n, 'more'), { partition });
    }
    const described = await cli(
      'groups',
      'describe',
      group,
      '--json',
      '--bootstrap-server',
      broker.bootstrap,
    );
    assert.equal(described.code, 0, describeRun(described));
    const d = JSON.parse(described.stdout.toString()) as {
      offsets: {
        topic: string;
        partition: number;
        committed: number;
        logEnd: number;
        lag: number;
      }[];
    };
    const rows = d.offsets
      .filter((o) => o.topic === topic)
      .sort((a, b) => a.partition - b.partition);
    assert.deepEqual(
      rows.map((o) => [o.partition, o.committed, o.logEnd, o.lag]),
      first.map((n, i) => [i, n, n + (second[i] as number), second[i]]),
      'the group committed what it read, behind the log end by what came after',
    );
    await eventually('the scraped lag equals the LAG column', async () => {
      const m = await scrape(url);
      for (const o of rows) {
        const labels = { group, topic, partition: String(o.partition) };
        assert.equal(sampleValue(m, 'kafka_consumergroup_current_offset', labels), o.committed);
        assert.equal(sampleValue(m, 'kafka_consumergroup_lag', labels), o.lag);
      }
    });

    // A member that stays long enough to heartbeat (kcat -G without -e), on another group.
    const hbGroup = `${topic}-heartbeat`;
    const member = new ChildRun(
      KCAT,
      ['-b', broker.bootstrap, '-G', hbGroup, '-X', 'heartbeat.interval.ms=50', '-q', topic],
      { timeoutMs: 60_000 },
    );
    try {
      await eventually('a Heartbeat answered', async () => {
        const m = await scrape(url);
        const n = sampleValue(m, 'kafka_network_requestmetrics_requests_total', {
          request: 'Heartbeat',
        });
        assert.ok((n ?? 0) >= 1, `Heartbeat requests: ${n}`);
      });
    } finally {
      member.kill('SIGTERM');
      await member.done;
    }

    // Every API the producers, the group members and the CLI used is timed.
    const m = await scrape(url);
    const used = [
      'ApiVersions',
      'Metadata',
      'CreateTopics',
      'Produce',
      'FindCoordinator',
      'JoinGroup',
      'SyncGroup',
      'Heartbeat',
      'OffsetFetch',
      'ListOffsets',
      'Fetch',
      'OffsetCommit',
      'LeaveGroup',
      'DescribeGroups',
    ];
    const requests = m.get('kafka_network_requestmetrics_requests_total');
    const counted = new Set<string>();
    for (const s of requests?.samples ?? []) counted.add(s.labels['request'] ?? '');
    for (const api of used)
      assert.ok(counted.has(api), `${api} counted: ${[...counted].join(', ')}`);
    // And every API counted at all (whoever sent it) has its quantiles, sum and count.
    for (const api of counted) {
      const count = sampleValue(m, 'kafka_network_requestmetrics_requests_total', { request: api });
      assert.ok((count ?? 0) >= 1, `${api}: ${count}`);
      for (const quantile of ['0.50', '0.99', '0.999']) {
        const t = sampleValue(m, 'kafka_network_requestmetrics_totaltimems', {
          request: api,
          quantile,
        });
        assert.ok(t !== undefined && t >= 0, `${api} ${quantile}: ${t}`);
      }
      const sum = sampleValue(m, 'kafka_network_requestmetrics_totaltimems_sum', {
        request: api,
      });
      assert.ok(sum !== undefined && sum >= 0, `${api} sum: ${sum}`);
      assert.equal(
        sampleValue(m, 'kafka_network_requestmetrics_totaltimems_count', {
          request: api,
        }),
        count,
        `${api}: timed as often as counted`,
      );
    }
  });
});
