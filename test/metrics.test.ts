/**
 * metrics.listener against a broker child process: /health and /ready, and /metrics parsed with
 * a strict text-format parser after kcat produced and a kcat group member (-G) consumed: records
 * and bytes in by topic, requests per API, log end offsets, a group's lag against its commit.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun, run, sleep } from '../src/testing/broker-process.ts';
import { KCAT, kcatProduce, requireKcat, topicName } from '../src/testing/clients.ts';
import { type Family, parsePrometheusText, sampleValue } from '../src/testing/prometheus-text.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

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
});
