/**
 * kcat 1.7.1 (librdkafka 2.0.2) in 0.9 mode (api.version.request=false,
 * broker.version.fallback=0.9.0.1: no ApiVersions, Produce v1 / Fetch v1 with MessageSet v0,
 * Metadata v0) against the broker as a child process: metadata, produce and consume with each
 * codec but zstd (compressible data, so librdkafka really compresses), a balanced consumer
 * group, zstd data refused with UNSUPPORTED_COMPRESSION_TYPE while the other partitions (and the
 * records before the zstd batch) still read, and out-of-range offsets reset.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun, run } from '../src/testing/broker-process.ts';
import {
  KCAT,
  KCAT_09,
  kcatConsume,
  kcatMetadata,
  kcatProduce,
  parseKcatRecords,
  topicName,
} from '../src/testing/clients.ts';
import {
  type ConfluentConsumeReport,
  confluentAny,
  diffRecords,
  fromConfluentRows,
  fromKcat,
  fromKpRows,
  type KpConsumeReport,
  kafkaPythonOld,
  type SeenRecord,
} from '../src/testing/old-clients.ts';

/** Keyed, compressible lines (`key:value`) and the records they make at `base` on `partition`. */
function lines(tag: string, n: number, base: number, partition = 0) {
  const input: string[] = [];
  const want: SeenRecord[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${tag}-${i}`;
    const value = `${tag} record ${i} ${'compressible '.repeat(5 + (i % 20))}end`;
    input.push(`${key}:${value}\n`);
    want.push({
      partition,
      offset: base + i,
      key: Buffer.from(key),
      value: Buffer.from(value),
      timestamp: null,
    });
  }
  return { input: input.join(''), want };
}

const only = (records: readonly SeenRecord[], partition: number) =>
  records.filter((r) => r.partition === partition);

describe('kcat in 0.9 mode', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'num.partitions': '2' } });
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('metadata v0 lists the broker and the topic partitions', async () => {
    const topic = topicName('old-kcat-md');
    await kcatProduce(broker.bootstrap, topic, 'x\n', { extra: KCAT_09 });
    const { metadata } = await kcatMetadata(broker.bootstrap, [...KCAT_09, '-t', topic]);
    assert.equal(metadata.brokers.length, 1);
    const t = metadata.topics.find((x) => x.topic === topic);
    assert.deepEqual(
      t?.partitions.map((p) => [p.partition, p.leader]),
      [
        [0, 0],
        [1, 0],
      ],
    );
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4']) {
    test(`codec ${codec}: 0.9 produce, 0.9 consume, modern and kafka-python 0.10 read the same`, async () => {
      const topic = topicName(`old-kcat-${codec}`);
      const a = lines(`${codec}a`, 150, 0);
      const b = lines(`${codec}b`, 150, 150);
      const extra = codec === 'none' ? KCAT_09 : [...KCAT_09, '-z', codec];
      await kcatProduce(broker.bootstrap, topic, a.input, { keyDelimiter: ':', extra });
      await kcatProduce(broker.bootstrap, topic, b.input, { keyDelimiter: ':', extra });
      const want = [...a.want, ...b.want];
      const old = await kcatConsume(broker.bootstrap, topic, { partition: 0, extra: KCAT_09 });
      assert.equal(diffRecords(fromKcat(old.records), want), '', describeRun(old.result));
      const modern = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
      assert.equal(diffRecords(fromKcat(modern.records), want), '', describeRun(modern.result));
      const kp = await kafkaPythonOld<KpConsumeReport>({
        mode: 'assign',
        bootstrap: broker.bootstrap,
        topic,
        api: [0, 10],
        expect: want.length,
      });
      assert.deepEqual(kp.report.errors, [], kp.context);
      assert.equal(diffRecords(fromKpRows(kp.report.records), want), '', kp.context);
    });
  }

  test('a balanced consumer group (-G) in 0.9 mode reads both partitions, then resumes', async () => {
    const topic = topicName('old-kcat-group');
    const p0 = lines('p0', 40, 0, 0);
    const p1 = lines('p1', 30, 0, 1);
    const extra = [...KCAT_09, '-z', 'gzip'];
    await kcatProduce(broker.bootstrap, topic, p0.input, { keyDelimiter: ':', extra });
    await kcatProduce(broker.bootstrap, topic, p1.input, {
      keyDelimiter: ':',
      partition: 1,
      extra,
    });
    const group = `${topic}-g`;
    const first = await kcatGroup(broker.bootstrap, group, topic);
    const sorted = sortByPartition(fromKcat(parseKcatRecords(first.stdout)));
    assert.equal(diffRecords(sorted, [...p0.want, ...p1.want]), '', describeRun(first));
    // The group committed its offsets: a second member starts there and sees only new records.
    const more = lines('more', 5, 40, 0);
    await kcatProduce(broker.bootstrap, topic, more.input, { keyDelimiter: ':', extra: KCAT_09 });
    const second = await kcatGroup(broker.bootstrap, group, topic);
    const again = sortByPartition(fromKcat(parseKcatRecords(second.stdout)));
    assert.equal(diffRecords(again, more.want), '', describeRun(second));
  });

  test('zstd to a 0.9 client: UNSUPPORTED_COMPRESSION_TYPE; the rest still reads', async () => {
    const topic = topicName('old-kcat-zstd');
    const before = lines('before', 20, 0, 0);
    const zstd = lines('zstd', 20, 20, 0);
    const p1 = lines('p1', 25, 0, 1);
    const opts = { keyDelimiter: ':' };
    await kcatProduce(broker.bootstrap, topic, before.input, { ...opts, extra: KCAT_09 });
    await kcatProduce(broker.bootstrap, topic, zstd.input, { ...opts, codec: 'zstd' });
    await kcatProduce(broker.bootstrap, topic, p1.input, { ...opts, partition: 1, codec: 'lz4' });

    // kcat prints the error and stops (kcat exits on a consume error), after what came before.
    const args = ['-C', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e'];
    const k = await run(KCAT, [...args, '-f', '%p %o %T %K %S %h\\n%k%s\\n', ...KCAT_09], {
      timeoutMs: 20_000,
    });
    assert.match(k.stderr, /Unsupported compression type/, describeRun(k));
    assert.equal(
      diffRecords(fromKcat(parseKcatRecords(k.stdout)), before.want),
      '',
      describeRun(k),
    );

    // The same librdkafka in 0.9 mode, one consumer on both partitions: the error is an event for
    // partition 0, partition 1 reads to the end.
    const c = await confluentAny<ConfluentConsumeReport>({
      mode: 'consume',
      legacy: true,
      bootstrap: broker.bootstrap,
      topics: [topic],
      partitions: [0, 1],
      expect: before.want.length + p1.want.length,
      expectErrors: 1,
      timeoutS: 8,
    });
    const errors = c.report.errors.map((e) => [e.partition, e.code, e.name]);
    assert.deepEqual(errors, [[0, 76, 'UNSUPPORTED_COMPRESSION_TYPE']], c.context);
    const seen = fromConfluentRows(c.report.records);
    assert.equal(diffRecords(only(seen, 0), before.want), '', c.context);
    assert.equal(diffRecords(only(seen, 1), p1.want), '', c.context);

    // A modern consumer reads the zstd records.
    const modern = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
    const all = [...before.want, ...zstd.want];
    assert.equal(diffRecords(fromKcat(modern.records), all), '', describeRun(modern.result));
  });

  test('kafka-python 0.10 on zstd data: records before it, then nothing (error 76 is unknown to it)', async () => {
    const topic = topicName('old-kp-zstd');
    const before = lines('before', 10, 0, 0);
    const zstd = lines('zstd', 10, 10, 0);
    await kcatProduce(broker.bootstrap, topic, before.input, { keyDelimiter: ':' });
    await kcatProduce(broker.bootstrap, topic, zstd.input, { keyDelimiter: ':', codec: 'zstd' });
    const kp = await kafkaPythonOld<KpConsumeReport>({
      mode: 'assign',
      bootstrap: broker.bootstrap,
      topic,
      api: [0, 10],
      expect: 20,
      timeoutS: 4,
    });
    // kafka-python 2.0.2 maps 76 to UnknownError, logs "Unknown error fetching data" and retries.
    assert.deepEqual(kp.report.errors, [], kp.context);
    assert.equal(diffRecords(fromKpRows(kp.report.records), before.want), '', kp.context);
    assert.match(kp.run.stderr, /Unknown error fetching data/, kp.context);
  });

  test('an offset past the end resets (error partitions carry empty records, not -1)', async () => {
    const topic = topicName('old-kcat-oor');
    await kcatProduce(broker.bootstrap, topic, 'a\nb\nc\n', { extra: KCAT_09 });
    for (const extra of [KCAT_09, []]) {
      const r = await kcatConsume(broker.bootstrap, topic, { partition: 0, offset: '100', extra });
      assert.doesNotMatch(r.result.stderr, /PROTOERR|parse failure/i, describeRun(r.result));
      assert.match(r.result.stderr, /offset reset/i, describeRun(r.result));
      assert.equal(r.records.length, 0);
    }
  });
});

function sortByPartition(records: SeenRecord[]): SeenRecord[] {
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** `kcat -G` (balanced consumer group) until every assigned partition reaches its end. */
async function kcatGroup(bootstrap: string, group: string, topic: string) {
  // Not `-o beginning`: kcat would assign from there and ignore the committed offsets.
  const args = ['-b', bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest', '-e'];
  args.push('-f', '%p %o %T %K %S %h\\n%k%s\\n', ...KCAT_09, topic);
  const r = await run(KCAT, args, { timeoutMs: 30_000 });
  if (r.timedOut || r.code !== 0) throw new Error(describeRun(r));
  return r;
}
