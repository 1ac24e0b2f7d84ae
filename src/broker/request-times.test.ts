import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey } from '../protocol/messages/api-table.ts';
import { formatRequestTimes, RequestTimes } from './request-times.ts';

test('percentiles land within a bucket (about 4%) of the exact value', () => {
  const times = new RequestTimes();
  const values: number[] = [];
  for (let i = 1; i <= 10_000; i++) {
    const ms = (i % 100) * 0.05 + (i % 7 === 0 ? 40 : 0);
    values.push(ms);
    times.record(ApiKey.Produce, ms);
  }
  times.record(ApiKey.Fetch, 500);
  values.sort((a, b) => a - b);
  const exact = (q: number) => values[Math.ceil(q * values.length) - 1] as number;
  const [produce, fetch] = times.summary();
  assert.equal(produce?.api, 'Produce');
  assert.equal(produce?.count, 10_000);
  for (const [q, got] of [
    [0.5, produce?.p50Ms],
    [0.99, produce?.p99Ms],
    [0.999, produce?.p999Ms],
  ] as const) {
    const want = exact(q);
    assert.ok(
      (got as number) >= want && (got as number) <= want * 1.05,
      `p${q * 100}: ${got} vs ${want}`,
    );
  }
  assert.equal(produce?.maxMs, Math.max(...values));
  assert.deepEqual([fetch?.api, fetch?.count, fetch?.maxMs], ['Fetch', 1, 500]);
  assert.match(formatRequestTimes(times.summary()), /^request time Produce: n=10000 p50=/);
  times.reset();
  assert.deepEqual(times.summary(), []);
  // The totals (the metrics endpoint's counters) go on across a reset.
  const totals = times.totals().map((t) => [t.api, t.countTotal, Number.isNaN(t.p50Ms)]);
  assert.deepEqual(totals, [
    ['Produce', 10_000, true],
    ['Fetch', 1, true],
  ]);
  assert.equal(times.totals()[1]?.msTotal, 500);
});
