/**
 * Cross-checks with kcat (librdkafka), a client no one here wrote: what `tributary produce`
 * writes, kcat reads identically (keys, headers, partitions, offsets, every codec), what kcat
 * writes, `tributary consume` prints byte for byte as kcat prints it, and keyed records land in
 * the partition librdkafka's murmur2 partitioner (the Java client's) picks.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { BrokerProcess, describeRun, type RunOptions, run } from '../src/testing/broker-process.ts';
import { KCAT, kcatConsume, kcatProduce, parseKcatRecords } from '../src/testing/clients.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

/** kcatConsume's `-f '%p %o %T %K %S %h\n%k%s\n'` in tributary's template language. */
const TRIBUTARY_FORMAT = '%p %o %T %K %V %h\\n%k%v\\n';

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], options);
}

async function ok(args: readonly string[], options: RunOptions = {}) {
  const r = await tributary(args, options);
  assert.equal(r.code, 0, describeRun(r));
  return r;
}

/** Lines `key<TAB>value` with spaces, UTF-8, carriage returns, '=' and ',' inside. */
function keyedInput(n: number, tag: string): { key: string; value: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${tag}-key-${i % 17}`,
    value: `${tag} value ${i} héllo wörld ✓ a=b,c\r ${'z'.repeat(i % 13)}`,
  }));
}

describe('tributary and kcat read each other', () => {
  let broker: BrokerProcess;
  let b: string[];

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'num.partitions': '1' } });
    b = ['--bootstrap-server', broker.bootstrap];
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('what tributary produce writes, kcat reads identically (every codec)', async () => {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const topic = `t2k-${codec}`;
      const records = keyedInput(300, codec);
      await ok(['topics', 'create', topic, '--partitions', '4', ...b]);
      const input = records.map((r) => `${r.key}\t${r.value}\n`).join('');
      const args = ['--key-separator', '\t', '--headers', `src=tributary,codec=${codec}`];
      await ok(['produce', topic, ...args, '--compression', codec, '--quiet', ...b], { input });
      const { records: got } = await kcatConsume(broker.bootstrap, topic, { count: 300 });
      assert.equal(got.length, 300, codec);
      const ours = await ok([
        'consume',
        topic,
        '--from-beginning',
        '--max-messages',
        '300',
        '--json',
        ...b,
      ]);
      const mine = ours.stdout
        .toString()
        .trimEnd()
        .split('\n')
        .map(
          (l) => JSON.parse(l) as { partition: number; offset: number; key: string; value: string },
        );
      const key = (p: number, o: number) => `${p}/${o}`;
      const byPosition = new Map(mine.map((m) => [key(m.partition, m.offset), m]));
      const wanted = new Map(records.map((r) => [r.value, r.key]));
      for (const g of got) {
        assert.equal(g.headers, `src=tributary,codec=${codec}`);
        const value = g.value?.toString('utf8') ?? '';
        assert.equal(g.key?.toString('utf8'), wanted.get(value), `${codec}: key of ${value}`);
        const m = byPosition.get(key(g.partition, g.offset));
        assert.deepEqual([m?.key, m?.value], [g.key?.toString('utf8'), value], codec);
      }
      const perPartition = new Map<number, number[]>();
      for (const g of got)
        perPartition.set(g.partition, [...(perPartition.get(g.partition) ?? []), g.offset]);
      for (const [p, offsets] of perPartition) {
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => i),
          `${codec}: partition ${p} offsets`,
        );
      }
      const sameKey = new Map<string, Set<number>>();
      for (const g of got) {
        const k = g.key?.toString('utf8') ?? '';
        sameKey.set(k, (sameKey.get(k) ?? new Set()).add(g.partition));
      }
      for (const [k, parts] of sameKey)
        assert.equal(parts.size, 1, `${codec}: ${k} in one partition`);
    }
  });

  test('what kcat writes, tributary consume prints byte for byte as kcat does', async () => {
    const topic = 'k2t';
    await ok(['topics', 'create', topic, '--partitions', '3', ...b]);
    const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    for (let p = 0; p < 3; p++) {
      for (const codec of codecs) {
        const records = keyedInput(40, `${p}-${codec}`);
        const input = records.map((r) => `${r.key}\t${r.value}\n`).join('');
        await kcatProduce(broker.bootstrap, topic, input, {
          partition: p,
          keyDelimiter: '\t',
          headers: ['origin=kcat', `codec=${codec}`],
          codec,
        });
      }
      await kcatProduce(broker.bootstrap, topic, 'no key or headers\n', { partition: p });
    }
    for (let p = 0; p < 3; p++) {
      const count = 40 * codecs.length + 1;
      const { result } = await kcatConsume(broker.bootstrap, topic, { partition: p, count });
      const kcatOut = result.stdout;
      const ours = await ok([
        'consume',
        topic,
        '--partition',
        String(p),
        '--from-beginning',
        '--max-messages',
        String(count),
        '--format',
        TRIBUTARY_FORMAT,
        ...b,
      ]);
      assert.equal(parseKcatRecords(kcatOut).length, count);
      assert.equal(ours.stdout.toString('utf8'), kcatOut.toString('utf8'), `partition ${p}`);
      assert.ok(ours.stdout.equals(kcatOut), `partition ${p}: identical bytes`);
    }
  });

  test("keyed records land where librdkafka's murmur2 partitioner puts them", async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `key-${i * 7919}:v${i}`);
    const input = `${lines.join('\n')}\n`;
    await ok(['topics', 'create', 'm-kcat', '--partitions', '6', ...b]);
    await ok(['topics', 'create', 'm-tributary', '--partitions', '6', ...b]);
    const k = await run(
      KCAT,
      [
        '-P',
        '-b',
        broker.bootstrap,
        '-t',
        'm-kcat',
        '-K',
        ':',
        '-X',
        'topic.partitioner=murmur2_random',
      ],
      { input, timeoutMs: 20_000 },
    );
    assert.equal(k.code, 0, describeRun(k));
    await ok(['produce', 'm-tributary', '--key-separator', ':', '--quiet', ...b], { input });
    const partitionOf = async (topic: string) => {
      const { records } = await kcatConsume(broker.bootstrap, topic, { count: 200 });
      return new Map(records.map((r) => [r.key?.toString('utf8'), r.partition]));
    };
    const theirs = await partitionOf('m-kcat');
    const mine = await partitionOf('m-tributary');
    assert.equal(mine.size, 200);
    assert.deepEqual([...mine].sort(), [...theirs].sort());
  });
});
