/**
 * `tributary topics ...` and the common options against a broker child process: output, JSON
 * and exit codes (0 ok, 1 Kafka error, 2 usage, 3 unreachable).
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BrokerProcess,
  describeRun,
  type RunOptions,
  repoRoot,
  run,
} from '../src/testing/broker-process.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], options);
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('tributary topics', () => {
  let broker: BrokerProcess;
  let b: string[];

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'num.partitions': '2' } });
    b = ['--bootstrap-server', broker.bootstrap];
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('create, then create again: exit 1 naming TOPIC_ALREADY_EXISTS; --if-not-exists: 0', async () => {
    const r = await tributary(['topics', 'create', 'orders', '--partitions', '3', ...b]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout.toString(), 'Created topic orders.\n');
    const again = await tributary(['topics', 'create', 'orders', '--partitions', '3', ...b]);
    assert.equal(again.code, 1, describeRun(again));
    assert.match(again.stderr, /TOPIC_ALREADY_EXISTS/);
    assert.match(again.stderr, /what to do:/);
    const quiet = await tributary(['topics', 'create', 'orders', '--if-not-exists', ...b]);
    assert.equal(quiet.code, 0, describeRun(quiet));
  });

  test('create with broker defaults and configs; describe shows them', async () => {
    const r = await tributary([
      'topics',
      'create',
      'events',
      '--config',
      'retention.ms=86400000',
      '--config',
      'cleanup.policy=[compact,delete],segment.bytes=1048576',
      ...b,
    ]);
    assert.equal(r.code, 0, describeRun(r));
    const d = await tributary(['topics', 'describe', 'events', ...b]);
    assert.equal(d.code, 0, describeRun(d));
    const out = d.stdout.toString();
    assert.match(out, /^Topic: events {2}TopicId: \S+ {2}Partitions: 2 {2}ReplicationFactor: 1$/m);
    assert.match(out, /cleanup\.policy=compact,delete/);
    assert.match(out, /retention\.ms=86400000/);
    assert.match(out, /segment\.bytes=1048576/);
    // A compacted topic (compact,delete here) has the cleaner's columns too: never cleaned yet.
    assert.match(
      out,
      /^PARTITION {2}LEADER {2}REPLICAS {2}ISR {2}OFFLINE {2}EARLIEST {2}LATEST {2}DIRTY-RATIO {2}LAST-CLEANED {2}CLEANER-CHECKPOINT$/m,
    );
    assert.match(out, /^0 {10}0 {7}0 {9}0 {13}0 {9}0 {7}0\.00 {9}never {9}0$/m);
    assert.match(out, /^1 {10}0 {7}0 {9}0 {13}0 {9}0 {7}0\.00 {9}never {9}0$/m);
  });

  test('list: an aligned table, and --json for scripts', async () => {
    await tributary(['topics', 'create', 'a-very-long-topic-name', '--partitions', '1', ...b]);
    const r = await tributary(['topics', 'list', '--exclude-internal', ...b]);
    assert.equal(r.code, 0, describeRun(r));
    const lines = r.stdout.toString().trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^TOPIC +PARTITIONS {2}REPLICATION {2}INTERNAL$/);
    const row = lines.find((l) => l.startsWith('orders '));
    assert.match(row ?? '', /^orders +3 +1 +no$/);
    const column = (lines[0] ?? '').indexOf('PARTITIONS');
    for (const l of lines.slice(1)) assert.match(l.slice(column), /^\d/, `aligned: ${l}`);
    const j = await tributary(['topics', 'list', '--json', ...b]);
    const topics = JSON.parse(j.stdout.toString()) as { name: string; partitions: number }[];
    assert.deepEqual(
      topics.find((t) => t.name === 'orders'),
      { ...topics.find((t) => t.name === 'orders'), partitions: 3, replicationFactor: 1 },
    );
    assert.ok(topics.some((t) => t.name === 'a-very-long-topic-name'));
  });

  test('describe --json; describe of a missing topic exits 1 with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const r = await tributary(['topics', 'describe', 'orders', '--json', ...b]);
    assert.equal(r.code, 0, describeRun(r));
    const [d] = JSON.parse(r.stdout.toString()) as {
      name: string;
      partitions: { partition: number; leader: number; replicas: number[] }[];
    }[];
    assert.equal(d?.name, 'orders');
    assert.deepEqual(
      d?.partitions.map((p) => [p.partition, p.leader, p.replicas]),
      [
        [0, 0, [0]],
        [1, 0, [0]],
        [2, 0, [0]],
      ],
    );
    const missing = await tributary(['topics', 'describe', 'no-such-topic', ...b]);
    assert.equal(missing.code, 1, describeRun(missing));
    assert.match(missing.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
    assert.match(missing.stderr, /tributary topics list/);
  });

  test('alter --partitions grows a topic; shrinking exits 1 with INVALID_PARTITIONS', async () => {
    const r = await tributary(['topics', 'alter', 'orders', '--partitions', '5', ...b]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout.toString(), 'Topic orders now has 5 partitions.\n');
    const shrink = await tributary(['topics', 'alter', 'orders', '--partitions', '2', ...b]);
    assert.equal(shrink.code, 1, describeRun(shrink));
    assert.match(shrink.stderr, /INVALID_PARTITIONS/);
    const noCount = await tributary(['topics', 'alter', 'orders', ...b]);
    assert.equal(noCount.code, 2, describeRun(noCount));
  });

  test('delete, delete again (exit 1), --if-exists (exit 0)', async () => {
    await tributary(['topics', 'create', 'doomed', ...b]);
    const r = await tributary(['topics', 'delete', 'doomed', ...b]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout.toString(), 'Deleted topic doomed.\n');
    const again = await tributary(['topics', 'delete', 'doomed', ...b]);
    assert.equal(again.code, 1, describeRun(again));
    assert.match(again.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
    const ok = await tributary(['topics', 'delete', 'doomed', '--if-exists', ...b]);
    assert.equal(ok.code, 0, describeRun(ok));
  });

  test('a replication factor above the broker count exits 1 naming the error', async () => {
    const r = await tributary(['topics', 'create', 'wide', '--replication-factor', '3', ...b]);
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /INVALID_REPLICATION_FACTOR/);
    assert.match(r.stderr, /tributary cluster/);
  });

  test('the package bin runs client commands', async () => {
    const root = repoRoot();
    // bin/tributary.js imports build/src/main.js: compiled anywhere else, it would test a stale
    // or missing build instead of this one.
    assert.equal(
      fileURLToPath(MAIN),
      join(root, 'build', 'src', 'main.js'),
      'run the tests from build/ (npx tsc -p .)',
    );
    await tributary(['topics', 'create', 'via-bin', '--partitions', '2', ...b]);
    const bin = join(root, 'bin', 'tributary.js');
    const r = await run(process.execPath, [bin, 'topics', 'list', ...b]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout.toString(), /^via-bin +2 +1 +no$/m);
    const bad = await run(process.execPath, [bin, 'topics', 'frob']);
    assert.equal(bad.code, 2, describeRun(bad));
  });

  test('usage errors exit 2 with the usage', async () => {
    for (const args of [
      ['topics'],
      ['topics', 'frobnicate'],
      ['topics', 'list', '--no-such-option'],
      ['topics', 'create'],
      ['topics', 'create', 'x', '--partitions', 'many'],
      ['topics', 'create', 'x', '--partitions'],
      ['nonsense'],
    ]) {
      const r = await tributary([...args, ...b]);
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /^tributary: /);
      assert.equal(r.stdout.length, 0);
    }
    const help = await tributary(['topics', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout.toString(), /usage: tributary topics list/);
    assert.match(help.stdout.toString(), /--bootstrap-server/);
  });

  test('--command-config: client properties used, unknown ones reported, security that cannot be honoured refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
    try {
      const file = join(dir, 'client.properties');
      await writeFile(
        file,
        [
          '# client settings',
          `bootstrap.servers=${broker.bootstrap}`,
          'client.id=cli-test',
          'request.timeout.ms=5000',
          'security.protocol=PLAINTEXT',
          'frobnication.level=11',
        ].join('\n'),
      );
      const r = await tributary(['topics', 'list', '--command-config', file]);
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout.toString(), /^orders /m);
      assert.match(r.stderr, /'frobnication\.level' is not used/);
      // Asked for SASL without credentials, or a mechanism this client lacks: refused, never
      // a silent plaintext connection.
      const sasl = join(dir, 'sasl.properties');
      await writeFile(sasl, 'security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n');
      const noCredentials = await tributary([
        'topics',
        'list',
        '--command-config',
        sasl,
        '--bootstrap-server',
        broker.bootstrap,
      ]);
      assert.equal(noCredentials.code, 2, describeRun(noCredentials));
      assert.match(noCredentials.stderr, /SASL needs sasl\.username and sasl\.password/);
      await writeFile(sasl, 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI\n');
      const gssapi = await tributary([
        'topics',
        'list',
        '--command-config',
        sasl,
        '--bootstrap-server',
        broker.bootstrap,
      ]);
      assert.equal(gssapi.code, 2, describeRun(gssapi));
      assert.match(gssapi.stderr, /GSSAPI is not supported/);
      const missing = await tributary(['topics', 'list', '--command-config', join(dir, 'none')]);
      assert.equal(missing.code, 2, describeRun(missing));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('an unreachable bootstrap server exits 3 and says what to do', async () => {
  const port = await closedPort();
  const r = await tributary(['topics', 'list', '--bootstrap-server', `127.0.0.1:${port}`], {
    env: {},
  });
  assert.equal(r.code, 3, describeRun(r));
  assert.match(r.stderr, /cannot reach the cluster/);
  assert.match(r.stderr, /--bootstrap-server/);
});
