/**
 * `tributary start` as an operator meets it: a bad config names the key and the reason and exits
 * non-zero; a setting the broker does not implement where ignoring it would change safety or
 * topology stops the start on one line naming the key; other ignored settings are listed once;
 * a config file in server.properties format is read, overrides win over it.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  BrokerExitedError,
  BrokerProcess,
  type BrokerStartOptions,
  runOk,
} from '../src/testing/broker-process.ts';
import { KCAT, requireKcat } from '../src/testing/clients.ts';

/** The broker must exit before it is ready; resolves with how it exited and what it printed. */
async function startFails(options: BrokerStartOptions): Promise<BrokerExitedError> {
  let broker: BrokerProcess | undefined;
  try {
    broker = await BrokerProcess.start(options);
  } catch (err) {
    if (err instanceof BrokerExitedError) return err;
    throw err;
  } finally {
    await broker?.cleanup();
  }
  throw new Error('start should have failed');
}

test('a bad config value names the key and the reason, and exits 1', async () => {
  const bad = await startFails({ overrides: { 'num.partitions': 'three' } });
  assert.equal(bad.status.code, 1);
  assert.match(bad.stderr, /num\.partitions/);
  assert.match(bad.stderr, /integer/);
  const listener = await startFails({ overrides: { listeners: 'localhost:9092' } });
  assert.equal(listener.status.code, 1);
  assert.match(listener.stderr, /listeners.*NAME:\/\/host:port/);
  const missing = await startFails({ configFile: '/nonexistent/server.properties' });
  assert.equal(missing.status.code, 1);
  assert.match(missing.stderr, /server\.properties/);
});

test('a TLS listener without a keystore, or a ZooKeeper that cannot be reached, stops the start on one line', async () => {
  const cases = [
    [{ listeners: 'SASL_SSL://127.0.0.1:9093' }, /^tributary: .*ssl\.keystore\.location.*SASL_SSL/],
    [
      // The brokers log in to their SASL listener (transaction markers, even alone) with
      // sasl.mechanism.inter.broker.protocol, GSSAPI by default as in Kafka: not implemented.
      {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:9093',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
      },
      /^tributary: Configuration sasl\.mechanism\.inter\.broker\.protocol is not supported yet: .*GSSAPI/,
    ],
    [
      // Port 1 on loopback refuses every connection: no session within the connection timeout.
      { 'zookeeper.connect': '127.0.0.1:1/tributary', 'zookeeper.connection.timeout.ms': '500' },
      /^tributary: no ZooKeeper session within 500 ms/,
    ],
  ] as const;
  for (const [overrides, message] of cases) {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-refused-'));
    try {
      const refused = await startFails({ overrides, dataDir: join(dir, 'data') });
      const name = JSON.stringify(overrides);
      assert.equal(refused.status.code, 1, name);
      assert.match(refused.stderr, message);
      assert.equal(refused.stderr.trimEnd().split('\n').length, 1, `one line: ${refused.stderr}`);
      assert.equal(refused.stdout, '', 'never ready');
      assert.equal(existsSync(join(dir, 'data')), false, 'nothing was started');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('settings accepted and ignored are listed once on stderr at start', async () => {
  const broker = await BrokerProcess.start({
    overrides: { 'queued.max.requests': '100', 'num.network.threads': '3' },
  });
  try {
    assert.match(broker.stdout, /^tributary ready: /);
    // stdout and stderr are separate pipes: the line may arrive just after the ready line.
    const err = await broker.waitForStderr(/Ignoring configuration.*\n/);
    const lines = err.split('\n').filter((l) => l.includes('Ignoring configuration'));
    assert.deepEqual(lines, [
      'Ignoring configuration: queued.max.requests (accepted for compatibility, not implemented); num.network.threads (not a known config)',
    ]);
  } finally {
    await broker.cleanup();
  }
});

test('a server.properties file is read and --override wins over it; SIGUSR2 prints request times', async () => {
  requireKcat();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-config-'));
  const file = join(dir, 'server.properties');
  await writeFile(file, ['# Kafka-style config', 'num.partitions=5', 'broker.id=7', ''].join('\n'));
  const broker = await BrokerProcess.start({ configFile: file, overrides: { 'broker.id': '3' } });
  try {
    assert.match(broker.stdout, /node 3/, 'the override wins over the file');
    const args = ['-b', broker.bootstrap, '-L', '-t', 'from-file'];
    const listed = await runOk(KCAT, args, { timeoutMs: 20_000 });
    assert.match(
      listed.stdout.toString(),
      /topic "from-file" with 5 partitions/,
      'num.partitions came from the file',
    );
    // SIGUSR2: time per request by API since the start (kcat -L sent ApiVersions and Metadata).
    broker.signal('SIGUSR2');
    const times = await broker.waitForStdout(/request time Metadata: n=\d+ p50=[\d.]+ p99=/);
    assert.match(times, /request time ApiVersions: n=\d+/);
  } finally {
    await broker.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});
