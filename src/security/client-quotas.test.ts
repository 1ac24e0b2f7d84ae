import assert from 'node:assert/strict';
import { test } from 'node:test';
import { USER_CLIENT_QUOTA_KEYS } from '../config/quota-configs.ts';
import { ClientQuotas } from './client-quotas.ts';
import { applyQuotaOps, describeQuotas, entityPathOf } from './quota-entities.ts';
import { QuotaRate, throttleTimeMs } from './quota-rate.ts';

const window = { samples: 11, sampleMs: 1000 };

test('a first burst is measured over all but one sample of the window', () => {
  const rate = new QuotaRate(window, 0);
  rate.record(10_000, 0);
  // 10 full samples are assumed: 10,000 bytes over 10 s.
  assert.equal(rate.windowMs(0), 10_000);
  assert.equal(rate.measure(0), 1000);
});

test("the window grows with time and old samples are dropped, as Kafka's Rate", () => {
  const rate = new QuotaRate(window, 0);
  for (let t = 0; t < 30_000; t += 100) rate.record(100, t);
  // 1,000 bytes a second, steadily: the measured rate is about that.
  const r = rate.measure(29_950);
  assert.ok(r > 900 && r < 1100, String(r));
  // A sample with no event for a whole window is emptied.
  assert.equal(rate.measure(29_900 + 11_000), 0);
});

test("throttle time is Kafka's (O - T) / T * W", () => {
  assert.equal(throttleTimeMs(2000, 1000, 10_000), 10_000);
  assert.equal(throttleTimeMs(1100, 1000, 10_000), 1000);
  assert.equal(throttleTimeMs(900, 1000, 10_000), 0);
});

test('a producer over its quota is throttled so that its rate comes back to the quota', () => {
  const quotas = new ClientQuotas(window);
  quotas.apply(new Map([['clients/p1', new Map([['producer_byte_rate', '1000']])]]), () => {});
  // Sends as fast as the throttle lets it: 1,000-byte requests, waiting out each throttle.
  let now = 0;
  let sent = 0;
  while (now < 60_000) {
    const wait = quotas.produce.record('ANONYMOUS', 'p1', 1000, now);
    sent += 1000;
    now += Math.max(wait, 1);
  }
  const rate = sent / (now / 1000);
  assert.ok(Math.abs(rate - 1000) / 1000 < 0.1, `rate ${rate}`);
  // Another client id is not limited.
  assert.equal(quotas.produce.record('ANONYMOUS', 'other', 1e9, now), 0);
});

test("Kafka's precedence: user+client, user+default client, user, default user+client, ..., client", () => {
  const quotas = new ClientQuotas(window);
  const q = (v: number) => new Map([['producer_byte_rate', String(v)]]);
  quotas.apply(
    new Map([
      ['users/alice/clients/c1', q(1)],
      ['users/alice/clients/<default>', q(2)],
      ['users/alice', q(3)],
      ['users/<default>/clients/c1', q(4)],
      ['users/<default>/clients/<default>', q(5)],
      ['users/<default>', q(6)],
      ['clients/c1', q(7)],
      ['clients/<default>', q(8)],
    ]),
    () => {},
  );
  const p = quotas.produce;
  assert.equal(p.quota('alice', 'c1'), 1);
  assert.equal(p.quota('alice', 'c2'), 2);
  assert.equal(p.quota('bob', 'c1'), 4);
  assert.equal(p.quota('bob', 'c2'), 5);
  const only = new ClientQuotas(window);
  only.apply(
    new Map([
      ['users/alice', q(3)],
      ['clients/c1', q(7)],
      ['clients/<default>', q(8)],
    ]),
    () => {},
  );
  assert.equal(only.produce.quota('alice', 'c1'), 3);
  assert.equal(only.produce.quota('bob', 'c1'), 7);
  assert.equal(only.produce.quota('bob', 'c9'), 8);
  assert.equal(only.fetch.quota('bob', 'c9'), Number.POSITIVE_INFINITY);
});

test('request_percentage throttles are capped at one sample; fetch window max is the bound over 10 s', () => {
  const quotas = new ClientQuotas(window);
  quotas.apply(
    new Map([
      [
        'clients/c',
        new Map([
          ['request_percentage', '10'],
          ['consumer_byte_rate', '100'],
        ]),
      ],
    ]),
    () => {},
  );
  assert.equal(quotas.request.record('u', 'c', 1e6, 0), 1000);
  assert.equal(quotas.fetch.maxValueInWindow('u', 'c'), 1000);
});

test('AlterClientQuotas entities, keys and values are checked as Kafka does', () => {
  assert.equal(
    entityPathOf([
      { entityType: 'user', entityName: 'a b' },
      { entityType: 'client-id', entityName: null },
    ]).path,
    'users/a%20b/clients/<default>',
  );
  assert.throws(() => entityPathOf([]), /Invalid empty client quota entity/);
  assert.throws(() => entityPathOf([{ entityType: 'group', entityName: 'x' }]), /Unhandled/);
  assert.throws(
    () =>
      entityPathOf([
        { entityType: 'ip', entityName: '1.2.3.4' },
        { entityType: 'user', entityName: 'u' },
      ]),
    /IP entity should not be used/,
  );
  const ops = (key: string, value: number) => [{ key, value, remove: false }];
  assert.throws(
    () => applyQuotaOps(new Map(), ops('nope', 1), USER_CLIENT_QUOTA_KEYS),
    /Invalid configuration key nope/,
  );
  assert.throws(
    () => applyQuotaOps(new Map(), ops('producer_byte_rate', 1.5), USER_CLIENT_QUOTA_KEYS),
    /LONG/,
  );
  assert.throws(
    () => applyQuotaOps(new Map(), ops('controller_mutation_rate', 1), USER_CLIENT_QUOTA_KEYS),
    /not supported/,
  );
  assert.deepEqual(
    [
      ...applyQuotaOps(
        new Map([['consumer_byte_rate', '5']]),
        [{ key: 'consumer_byte_rate', value: 0, remove: true }, ...ops('request_percentage', 12.5)],
        USER_CLIENT_QUOTA_KEYS,
      ),
    ],
    [['request_percentage', '12.5']],
  );
});

test('DescribeClientQuotas filters match as ZkAdminManager (strict, default, specified)', () => {
  const all = new Map([
    ['users/alice', new Map([['producer_byte_rate', '1']])],
    ['users/alice/clients/c1', new Map([['producer_byte_rate', '2']])],
    ['clients/<default>', new Map([['consumer_byte_rate', '3']])],
    ['ips/1.2.3.4', new Map([['connection_creation_rate', '4']])],
  ]);
  const names = (r: ReturnType<typeof describeQuotas>) =>
    r.map((e) => e.entity.map((p) => `${p.entityType}=${p.entityName}`).join(',')).sort();
  assert.deepEqual(names(describeQuotas(all, [], false)), [
    'client-id=null',
    'ip=1.2.3.4',
    'user=alice',
    'user=alice,client-id=c1',
  ]);
  const exactUser = [{ entityType: 'user', matchType: 0, match: 'alice' }];
  assert.deepEqual(names(describeQuotas(all, exactUser, true)), ['user=alice']);
  assert.deepEqual(names(describeQuotas(all, exactUser, false)), [
    'user=alice',
    'user=alice,client-id=c1',
  ]);
  const defaultClient = [{ entityType: 'client-id', matchType: 1, match: null }];
  assert.deepEqual(names(describeQuotas(all, defaultClient, true)), ['client-id=null']);
  assert.throws(
    () => describeQuotas(all, [{ entityType: 'x', matchType: 2, match: null }], false),
    /Custom entity type/,
  );
});
