import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText, sampleValue } from '../testing/prometheus-text.ts';
import { MetricsServer, parseMetricsListener } from './metrics-server.ts';

test('metrics.listener values: host and port, IPv6 in brackets, nothing else', () => {
  assert.deepEqual(parseMetricsListener('http://127.0.0.1:9404'), {
    host: '127.0.0.1',
    port: 9404,
  });
  assert.deepEqual(parseMetricsListener('http://[::1]:0/'), { host: '::1', port: 0 });
  for (const bad of [
    '127.0.0.1:9404',
    'https://h:1',
    'http://h',
    'http://h:70000',
    'http://h:1/x',
  ]) {
    assert.throws(() => parseMetricsListener(bad), /metrics.listener/, bad);
  }
});

test('/ready is 503 until the broker attaches, /metrics has Node metrics from the start', async () => {
  const server = await MetricsServer.open('http://127.0.0.1:0');
  try {
    const url = server.url;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    assert.equal((await fetch(`${url}/ready`)).status, 503);
    const early = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
    assert.ok(early.has('nodejs_eventloop_lag_seconds'));
    assert.equal(early.has('up_here'), false);
    server.ready({ collect: () => '# TYPE up_here gauge\nup_here 1\n' });
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    const later = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
    assert.equal(sampleValue(later, 'up_here'), 1);
    server.notReady();
    assert.equal((await fetch(`${url}/ready`)).status, 503);
  } finally {
    await server.close();
  }
});
