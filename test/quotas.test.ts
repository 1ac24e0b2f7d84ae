/**
 * Client quotas against a broker child process, with librdkafka clients (confluent-kafka) as
 * separate processes and Kafka 3.9's kafka-configs: a producer over its producer_byte_rate is
 * slowed to it (bytes acknowledged over 30 s within 10%) while another client id is never
 * throttled; a consumer over its consumer_byte_rate is slowed; quotas set while the broker runs
 * take effect at once; DescribeClientQuotas answers what kafka-configs --describe prints;
 * `tributary quotas` and `tributary users` drive the same APIs.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun, type RunOptions, run } from '../src/testing/broker-process.ts';
import {
  pythonReport,
  requireConfluentKafka,
  spawnPython,
  topicName,
} from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], options);
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await tributary(args);
  assert.equal(r.code, 0, describeRun(r));
  return r.stdout.toString('utf8');
}

interface Report {
  bytes: number;
  seconds: number;
  throttles: number;
  throttle_ms_max: number;
}

async function client(args: readonly string[]): Promise<Report> {
  const child = spawnPython('quota_client.py', args, { timeoutMs: 120_000 });
  return pythonReport<Report>(await child.done);
}

/** quota.window.num of the broker under test (samples of quota.window.size.seconds = 1). */
const WINDOW = 6;

describe('client quotas', () => {
  let broker: BrokerProcess;
  let b: string[];
  const topic = topicName('quotas');

  before(async () => {
    requireConfluentKafka();
    // A quota window of 6 samples of 1 s (Kafka's default is 11): the same rule, measured in
    // fewer seconds.
    broker = await BrokerProcess.start({ overrides: { 'quota.window.num': String(WINDOW) } });
    b = ['--bootstrap-server', broker.bootstrap];
    await kafkaTool('topics', [...b, '--create', '--topic', topic, '--partitions', '1']);
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('kafka-configs sets a client id quota on the running broker and describes it', async () => {
    const entity = ['--entity-type', 'clients', '--entity-name', 'slow-producer'];
    const altered = await kafkaTool('configs', [
      ...b,
      '--alter',
      '--add-config',
      'producer_byte_rate=200000',
      ...entity,
    ]);
    assert.match(altered, /Completed updating config for client slow-producer\./);
    const described = await kafkaTool('configs', [...b, '--describe', ...entity]);
    assert.match(
      described,
      /Quota configs for client-id 'slow-producer' are producer_byte_rate=200000\.0/,
    );
  });

  test('a producer over its quota is slowed to it; another client id is not', async () => {
    // Three whole quota windows. A greedy client's rate is held to the quota over each window,
    // but it refills the window in a burst each time old data leaves it (Kafka's sampled rate
    // does the same), so a cut through a window is off by up to a burst (one 1 s sample).
    const seconds = String(3 * WINDOW);
    // Measured after a warm-up of one window: a new client's first burst may take a whole
    // window's worth at once, then the rate settles at the quota.
    const warmUp = String(WINDOW);
    const [slow, fast] = await Promise.all([
      client(['produce', broker.bootstrap, topic, 'slow-producer', seconds, '1000', warmUp]),
      client(['produce', broker.bootstrap, topic, 'fast-producer', seconds, '1000', warmUp]),
    ]);
    const slowRate = slow.bytes / slow.seconds;
    assert.ok(
      Math.abs(slowRate - 200_000) / 200_000 <= 0.1,
      `slow-producer: ${slowRate} B/s acked, quota 200000 (${JSON.stringify(slow)})`,
    );
    assert.ok(slow.throttles > 0, 'the throttled producer saw throttle_time_ms');
    assert.equal(fast.throttles, 0, `fast-producer was throttled: ${JSON.stringify(fast)}`);
    assert.ok(fast.bytes / fast.seconds > 3 * 200_000, `fast-producer: ${JSON.stringify(fast)}`);
  });

  test('a consumer over its consumer_byte_rate is slowed (set with tributary quotas)', async () => {
    const b2 = ['--bootstrap-server', broker.bootstrap];
    await ok([
      'quotas',
      'alter',
      '--client-id',
      'slow-consumer',
      '--add-config',
      'consumer_byte_rate=100000',
      ...b2,
    ]);
    const listed = JSON.parse(
      await ok(['quotas', 'describe', '--client-id', 'slow-consumer', '--json', ...b2]),
    );
    assert.deepEqual(listed, [
      {
        entity: [{ entityType: 'client-id', entityName: 'slow-consumer' }],
        quotas: { consumer_byte_rate: 100000 },
      },
    ]);
    const [slow, free] = await Promise.all([
      client(['consume', broker.bootstrap, topic, 'slow-consumer', '10']),
      client(['consume', broker.bootstrap, topic, 'free-consumer', '10']),
    ]);
    const rate = slow.bytes / slow.seconds;
    // The first fetch may take what the whole window allows (Kafka's getMaxValueInQuotaWindow).
    assert.ok(rate > 50_000 && rate < 160_000, `slow-consumer: ${JSON.stringify(slow)}`);
    assert.ok(slow.throttles > 0, 'the throttled consumer saw throttle_time_ms');
    assert.equal(free.throttles, 0);
    assert.ok(free.bytes > 3 * slow.bytes, `free-consumer: ${JSON.stringify(free)}`);
  });

  test('user and default quotas: kafka-configs and tributary quotas describe agree', async () => {
    await kafkaTool('configs', [
      ...b,
      '--alter',
      '--add-config',
      'request_percentage=50,consumer_byte_rate=1000000',
      '--entity-type',
      'users',
      '--entity-default',
    ]);
    await ok([
      'quotas',
      'alter',
      '--user',
      'alice',
      '--client-id',
      'app',
      '--add-config',
      'producer_byte_rate=5000',
      '--bootstrap-server',
      broker.bootstrap,
    ]);
    const defaults = await kafkaTool('configs', [
      ...b,
      '--describe',
      '--entity-type',
      'users',
      '--entity-default',
    ]);
    assert.match(defaults, /Quota configs for the default user-principal are /);
    assert.match(defaults, /request_percentage=50\.0/);
    assert.match(defaults, /consumer_byte_rate=1000000\.0/);
    const pair = await kafkaTool('configs', [
      ...b,
      '--describe',
      '--entity-type',
      'users',
      '--entity-name',
      'alice',
      '--entity-type',
      'clients',
      '--entity-name',
      'app',
    ]);
    assert.match(
      pair,
      /Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=5000\.0/,
    );
    const all = await ok(['quotas', 'describe', '--bootstrap-server', broker.bootstrap]);
    assert.match(all, /user <default>/);
    assert.match(all, /user 'alice', client-id 'app'/);
    // Removing a quota, and refusing what Kafka refuses.
    await kafkaTool('configs', [
      ...b,
      '--alter',
      '--delete-config',
      'producer_byte_rate',
      '--entity-type',
      'clients',
      '--entity-name',
      'slow-producer',
    ]);
    const gone = await kafkaTool('configs', [
      ...b,
      '--describe',
      '--entity-type',
      'clients',
      '--entity-name',
      'slow-producer',
    ]);
    assert.doesNotMatch(gone, /producer_byte_rate/);
    const bad = await tributary([
      'quotas',
      'alter',
      '--client-id',
      'x',
      '--add-config',
      'producer_byte_rate=1.5',
      '--bootstrap-server',
      broker.bootstrap,
    ]);
    assert.equal(bad.code, 1, describeRun(bad));
    assert.match(String(bad.stderr), /must be a LONG value/);
  });

  test('tributary users add, list and remove SCRAM users beside their quotas', async () => {
    const b2 = ['--bootstrap-server', broker.bootstrap];
    await ok([
      'users',
      'add',
      'alice',
      '--password',
      'secret',
      '--mechanism',
      'SCRAM-SHA-512',
      ...b2,
    ]);
    const listed = JSON.parse(await ok(['users', 'list', '--json', ...b2]));
    assert.deepEqual(listed, [
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);
    await ok([
      'quotas',
      'alter',
      '--user',
      'alice',
      '--add-config',
      'producer_byte_rate=7000',
      ...b2,
    ]);
    assert.match(
      await ok(['quotas', 'describe', '--user', 'alice', ...b2]),
      /producer_byte_rate\s+7000/,
    );
    assert.match(await ok(['users', 'remove', 'alice', ...b2]), /Removed SCRAM-SHA-512/);
    assert.match(await ok(['users', 'list', ...b2]), /No SCRAM users/);
    assert.match(
      await ok(['quotas', 'describe', '--user', 'alice', ...b2]),
      /producer_byte_rate\s+7000/,
    );
  });
});
