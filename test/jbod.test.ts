/**
 * JBOD with Apache Kafka 3.9's own tools (run as `java -cp ... <main class>`, as the
 * bin/kafka-*.sh scripts do) against a broker process with two log dirs:
 * kafka-reassign-partitions with a plan that names `log_dirs` moves a replica to the other dir
 * (AlterReplicaLogDirs, then `--verify` through DescribeLogDirs), and kafka-log-dirs --describe
 * shows both dirs with the partition in its new one. The records are all there afterwards.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BrokerProcess, runOk } from '../src/testing/broker-process.ts';
import { KCAT, kcatConsume, requireKcat } from '../src/testing/clients.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';

let root: string;
let broker: BrokerProcess;
let dirs: string[];

before(async () => {
  requireKcat();
  root = await mkdtemp(join(tmpdir(), 'tributary-jbod-tools-'));
  dirs = [join(root, 'a'), join(root, 'b')];
  broker = await BrokerProcess.start({ dataDir: root, overrides: { 'log.dirs': dirs.join(',') } });
});

after(async () => {
  await broker?.cleanup();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

interface Described {
  brokers: {
    broker: number;
    logDirs: {
      logDir: string;
      error: string | null;
      partitions: { partition: string; size: number; offsetLag: number; isFuture: boolean }[];
    }[];
  }[];
}

async function describeLogDirs(topic: string): Promise<Described> {
  const b = ['--bootstrap-server', broker.bootstrap];
  const out = await kafkaTool('logDirs', [...b, '--describe', '--topic-list', topic]);
  const json = out.split('\n').find((l) => l.startsWith('{'));
  assert.ok(json !== undefined, out);
  return JSON.parse(json) as Described;
}

/** The dir of broker 0 holding `topic-partition` (current, not future) per kafka-log-dirs. */
function dirOf(d: Described, name: string): string | undefined {
  const logDirs = d.brokers[0]?.logDirs ?? [];
  return logDirs.find((l) => l.partitions.some((p) => p.partition === name && !p.isFuture))?.logDir;
}

test('kafka-reassign-partitions with log_dirs moves a replica to another log dir; kafka-log-dirs shows it', async () => {
  const topic = `jbod-tools-${process.pid}`;
  const b = ['--bootstrap-server', broker.bootstrap];
  await kafkaTool('topics', [...b, '--create', '--topic', topic, '--partitions', '2']);
  const values = Array.from({ length: 500 }, (_, i) => `r${i}`);
  for (const p of [0, 1]) {
    await runOk(KCAT, ['-b', broker.bootstrap, '-P', '-t', topic, '-p', String(p)], {
      input: `${values.join('\n')}\n`,
    });
  }

  const before = await describeLogDirs(topic);
  assert.equal(before.brokers[0]?.broker, 0);
  assert.deepEqual(
    before.brokers[0]?.logDirs.map((l) => [l.logDir, l.error]).sort(),
    dirs.map((d) => [d, null]),
  );
  const from = dirOf(before, `${topic}-0`);
  assert.ok(from !== undefined, JSON.stringify(before));
  const to = dirs.find((d) => d !== from) as string;

  const plan = join(root, 'plan.json');
  await writeFile(
    plan,
    JSON.stringify({
      version: 1,
      partitions: [{ topic, partition: 0, replicas: [0], log_dirs: [to] }],
    }),
  );
  const executed = await kafkaTool('reassignPartitions', [
    ...b,
    '--reassignment-json-file',
    plan,
    '--execute',
  ]);
  assert.match(executed, /Successfully started partition reassignment/, executed);
  assert.match(
    executed,
    new RegExp(
      `Successfully started moving log directory to ${to} for replica ${topic}-0 with broker 0`,
    ),
    executed,
  );

  let verified = '';
  for (let i = 0; i < 50; i++) {
    verified = await kafkaTool('reassignPartitions', [
      ...b,
      '--reassignment-json-file',
      plan,
      '--verify',
    ]);
    if (!/in progress/i.test(verified)) break;
  }
  assert.match(verified, new RegExp(`Reassignment of partition ${topic}-0 is completed`), verified);
  assert.match(
    verified,
    new RegExp(`Reassignment of replica ${topic}-0-0 completed successfully`),
    verified,
  );

  const afterMove = await describeLogDirs(topic);
  assert.equal(dirOf(afterMove, `${topic}-0`), to, JSON.stringify(afterMove));
  const moved = afterMove.brokers[0]?.logDirs
    .find((l) => l.logDir === to)
    ?.partitions.find((p) => p.partition === `${topic}-0`);
  assert.ok(
    moved !== undefined && moved.size > 500 * 2 && !moved.isFuture,
    JSON.stringify(afterMove),
  );
  const { records } = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
  assert.deepEqual(
    records.map((r) => r.value?.toString()),
    values,
  );
});

test('tributary reassign execute and verify follow a plan with log_dirs', async () => {
  const topic = `jbod-cli-${process.pid}`;
  const b = ['--bootstrap-server', broker.bootstrap];
  await kafkaTool('topics', [...b, '--create', '--topic', topic, '--partitions', '1']);
  const values = Array.from({ length: 300 }, (_, i) => `c${i}`);
  await runOk(KCAT, ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0'], {
    input: `${values.join('\n')}\n`,
  });
  const from = dirOf(await describeLogDirs(topic), `${topic}-0`);
  const to = dirs.find((d) => d !== from) as string;
  const plan = join(root, 'cli-plan.json');
  await writeFile(
    plan,
    JSON.stringify({
      version: 1,
      partitions: [{ topic, partition: 0, replicas: [0], log_dirs: [to] }],
    }),
  );
  const cli = ['bin/tributary.js', 'reassign'];
  const executed = await runOk(process.execPath, [...cli, 'execute', '--plan', plan, ...b], {
    timeoutMs: 30_000,
  });
  assert.match(
    executed.stdout.toString(),
    new RegExp(
      `Successfully started moving log directory to ${to} for replica ${topic}-0 with broker 0`,
    ),
  );
  const verified = await runOk(
    process.execPath,
    [...cli, 'verify', '--plan', plan, '--wait', ...b],
    { timeoutMs: 30_000 },
  );
  assert.match(
    verified.stdout.toString(),
    new RegExp(`Reassignment of replica ${topic}-0-0 completed successfully`),
  );
  assert.equal(dirOf(await describeLogDirs(topic), `${topic}-0`), to);
  const { records } = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
  assert.deepEqual(
    records.map((r) => r.value?.toString()),
    values,
  );
});
