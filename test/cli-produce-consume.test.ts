/**
 * `tributary produce` and `tributary consume` against a broker child process: keys, headers,
 * partitions, codecs, acks, templates, JSON, start offsets, group commits, stop conditions,
 * and 100,000 lines through and back in order.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import {
  BrokerProcess,
  ChildRun,
  describeRun,
  type RunOptions,
  run,
} from '../src/testing/broker-process.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;
const SCRIPT = `const { main } = await import(${JSON.stringify(MAIN)});
await main(process.argv.slice(1));`;

function tributary(args: readonly string[], options: RunOptions = {}) {
  return run(process.execPath, ['--input-type=module', '-e', SCRIPT, ...args], options);
}

async function ok(args: readonly string[], options: RunOptions = {}) {
  const r = await tributary(args, options);
  assert.equal(r.code, 0, describeRun(r));
  return r;
}

/** A stream that keeps what is written to it, posing as a terminal when `tty`. */
function sink(tty: boolean): Writable & { isTTY: boolean; text(): string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return Object.assign(w, { isTTY: tty, text: () => Buffer.concat(chunks).toString('utf8') });
}

/**
 * The CLI run inside this process (no Node start-up per command): its exit code and output, for
 * tests that run many commands; the spawned `ok` covers the real process.
 */
async function inProcess(args: readonly string[], input = '') {
  const io = {
    stdin: Readable.from(input === '' ? [] : [Buffer.from(input)]),
    stdout: sink(false),
    stderr: sink(false),
  };
  const code = await runCli(args, io);
  return { code, stdout: io.stdout.text(), stderr: io.stderr.text() };
}

async function inProcessOk(args: readonly string[], input = '') {
  const r = await inProcess(args, input);
  assert.equal(r.code, 0, `tributary ${args.join(' ')}: ${r.stderr}`);
  return r;
}

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

function jsonLines(out: Buffer): JsonRecord[] {
  return out
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JsonRecord);
}

describe('tributary produce and consume', () => {
  let broker: BrokerProcess;
  let b: string[];
  let scratch: string;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'num.partitions': '1' } });
    b = ['--bootstrap-server', broker.bootstrap];
    scratch = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
  });

  after(async () => {
    await broker?.cleanup();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  test('100,000 lines produced from stdin come back in order', async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 37)}`);
    const input = `${lines.join('\n')}\n`;
    await ok(['topics', 'create', 'bulk', '--partitions', '1', ...b]);
    const p = await ok(['produce', 'bulk', '--json', ...b], { input, timeoutMs: 60_000 });
    const summary = JSON.parse(p.stdout.toString()) as { records: number };
    assert.equal(summary.records, 100_000);
    const c = await ok(['consume', 'bulk', '--from-beginning', '--max-messages', '100000', ...b], {
      timeoutMs: 60_000,
    });
    assert.equal(c.stdout.toString('utf8'), input);
    assert.match(c.stderr, /Processed a total of 100000 messages/);
  });

  test('a progress bar on stderr only for a terminal and past a few thousand records', async () => {
    const args = ['consume', 'bulk', '--from-beginning', '--max-messages', '100000', ...b];
    const tty = { stdin: Readable.from([]), stdout: sink(false), stderr: sink(true) };
    assert.equal(await runCli(args, tty), 0, tty.stderr.text());
    assert.match(tty.stderr.text(), /\rconsumed \[#*\.*\] \d+% [\d,]+\/100,000 {2}[\d,]+ rec\/s/);
    assert.equal(tty.stdout.text().split('\n').length, 100_001);
    const pipe = { stdin: Readable.from([]), stdout: sink(false), stderr: sink(false) };
    assert.equal(await runCli(args, pipe), 0);
    assert.equal(pipe.stderr.text(), 'Processed a total of 100000 messages\n');
    const few = { stdin: Readable.from([]), stdout: sink(false), stderr: sink(true) };
    const fewArgs = ['consume', 'bulk', '--from-beginning', '--max-messages', '1000', ...b];
    assert.equal(await runCli(fewArgs, few), 0);
    assert.equal(few.stderr.text(), 'Processed a total of 1000 messages\n');
  });

  test('keys, headers and explicit partitions; the human summary is a table', async () => {
    await ok(['topics', 'create', 'keyed', '--partitions', '3', ...b]);
    const input = 'alice:{"n":1}\nbob:{"n":2}\nno separator here\nalice:x:y\n';
    const r = await ok(
      [
        'produce',
        'keyed',
        '--key-separator',
        ':',
        '--headers',
        'src=cli,trace=[a,b]',
        '--partition',
        '2',
        ...b,
      ],
      { input },
    );
    assert.match(r.stdout.toString(), /^Produced 4 records to keyed\.$/m);
    assert.match(r.stdout.toString(), /^PARTITION {2}RECORDS {2}FIRST OFFSET {2}LAST OFFSET$/m);
    assert.match(r.stdout.toString(), /^2 {10}4 {8}0 {13}3$/m);
    const c = await ok([
      'consume',
      'keyed',
      '--from-beginning',
      '--max-messages',
      '4',
      '--json',
      ...b,
    ]);
    const got = jsonLines(c.stdout);
    assert.deepEqual(
      got.map((g) => [g.partition, g.offset, g.key, g.value]),
      [
        [2, 0, 'alice', '{"n":1}'],
        [2, 1, 'bob', '{"n":2}'],
        [2, 2, null, 'no separator here'],
        [2, 3, 'alice', 'x:y'],
      ],
    );
    for (const g of got) {
      assert.deepEqual(g.headers, [
        { key: 'src', value: 'cli' },
        { key: 'trace', value: 'a,b' },
      ]);
      assert.equal(g.topic, 'keyed');
      assert.ok(Math.abs(g.timestamp - Date.now()) < 60_000);
    }
  });

  test('keyed records go to the same partition every time; keyless ones spread', async () => {
    await ok(['topics', 'create', 'spread', '--partitions', '4', ...b]);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const input = keys.map((k) => `${k}\t${k}-v`).join('\n');
    await ok(['produce', 'spread', '--key-separator', '\t', ...b], { input });
    await ok(['produce', 'spread', '--key-separator', '\t', ...b], { input });
    const c = await ok([
      'consume',
      'spread',
      '--from-beginning',
      '--max-messages',
      '80',
      '--format',
      '%k %p',
      ...b,
    ]);
    const seen = new Map<string, Set<string>>();
    for (const line of c.stdout.toString().trimEnd().split('\n')) {
      const [k, p] = line.split(' ');
      const s = seen.get(k as string) ?? new Set<string>();
      s.add(p as string);
      seen.set(k as string, s);
    }
    assert.equal(seen.size, 40);
    for (const [k, s] of seen) assert.equal(s.size, 1, `${k} in one partition`);
    const partitions = new Set([...seen.values()].flatMap((s) => [...s]));
    assert.ok(partitions.size >= 3, `keys spread over ${[...partitions].join(',')}`);
  });

  test('every codec and acks setting; values read back byte for byte', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `v${i} ${'compressible '.repeat(i % 9)}`);
    const input = `${lines.join('\n')}\n`;
    const cases = [
      ...['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((codec) => [codec, 'all']),
      ['lz4', '1'],
      ['none', '0'],
    ];
    // In this process and side by side: 21 commands, each a separate Node otherwise.
    await Promise.all(
      cases.map(async ([codec, acks]) => {
        const topic = `codec-${codec}-${acks}`;
        await inProcessOk(['topics', 'create', topic, '--partitions', '1', ...b]);
        const produce = ['produce', topic, '--compression', `${codec}`, '--acks', `${acks}`];
        await inProcessOk([...produce, '--quiet', ...b], input);
        const c = await inProcessOk([
          'consume',
          topic,
          '--from-beginning',
          '--max-messages',
          '500',
          ...b,
        ]);
        assert.equal(c.stdout, input, `${codec} acks=${acks}`);
      }),
    );
    const bad = await inProcess(['produce', 'codec-none-all', '--compression', 'brotli', ...b]);
    assert.equal(bad.code, 2, bad.stderr);
    const badAcks = await inProcess(['produce', 'codec-none-all', '--acks', '2', ...b]);
    assert.equal(badAcks.code, 2, badAcks.stderr);
  });

  test('--file, --format with % and {} fields, escapes, --offset and --partition', async () => {
    const file = join(scratch, 'input.txt');
    await writeFile(file, 'k0=zero\nk1=one\nk2=two\nk3=three');
    await ok(['topics', 'create', 'fmt', '--partitions', '2', ...b]);
    await ok([
      'produce',
      'fmt',
      '--file',
      file,
      '--key-separator',
      '=',
      '--partition',
      '1',
      '--headers',
      'h=1',
      ...b,
    ]);
    const pct = await ok([
      'consume',
      'fmt',
      '--from-beginning',
      '--partition',
      '1',
      '--max-messages',
      '4',
      '--format',
      '%t/%p/%o %k=%v [%h] %K %V %%\\n',
      ...b,
    ]);
    assert.equal(
      pct.stdout.toString(),
      'fmt/1/0 k0=zero [h=1] 2 4 %\nfmt/1/1 k1=one [h=1] 2 3 %\n' +
        'fmt/1/2 k2=two [h=1] 2 3 %\nfmt/1/3 k3=three [h=1] 2 5 %\n',
    );
    const braces = await ok([
      'consume',
      'fmt',
      '--offset',
      '2',
      '--partition',
      '1',
      '--max-messages',
      '2',
      '--format',
      '{offset}\\t{key}:{value} {headers}',
      ...b,
    ]);
    assert.equal(braces.stdout.toString(), '2\tk2:two h=1\n3\tk3:three h=1\n');
    const ts = await ok([
      'consume',
      'fmt',
      '--from-beginning',
      '--partition',
      '1',
      '--max-messages',
      '1',
      '--format',
      '%T',
      ...b,
    ]);
    assert.ok(Math.abs(Number(ts.stdout.toString()) - Date.now()) < 60_000);
    const badField = await tributary(['consume', 'fmt', '--format', '%q', ...b]);
    assert.equal(badField.code, 2, describeRun(badField));
    // Not a usage mistake but a fact of the cluster: exit 1, one line.
    const noPartition = await tributary(['consume', 'fmt', '--partition', '7', ...b]);
    assert.equal(noPartition.code, 1, describeRun(noPartition));
    const both = await tributary(['consume', 'fmt', '--from-beginning', '--offset', '1', ...b]);
    assert.equal(both.code, 2, describeRun(both));
  });

  test('--exit-at-end and --timeout-ms stop a consumer; without --from-beginning it starts at the end', async () => {
    await ok(['topics', 'create', 'ends', '--partitions', '2', ...b]);
    await ok(['produce', 'ends', '--quiet', ...b], { input: 'a\nb\nc\n' });
    const all = await ok(['consume', 'ends', '--from-beginning', '--exit-at-end', ...b]);
    assert.deepEqual(all.stdout.toString().trimEnd().split('\n').sort(), ['a', 'b', 'c']);
    const latest = await ok(['consume', 'ends', '--timeout-ms', '700', ...b]);
    assert.equal(latest.stdout.length, 0);
    assert.match(latest.stderr, /Processed a total of 0 messages/);
  });

  test('a running consumer prints new records as they come and stops cleanly on Ctrl-C', async () => {
    await ok(['topics', 'create', 'live', '--partitions', '1', ...b]);
    const consumer = new ChildRun(process.execPath, [
      '--input-type=module',
      '-e',
      SCRIPT,
      'consume',
      'live',
      '--from-beginning',
      ...b,
    ]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await ok(['produce', 'live', '--quiet', ...b], { input: 'hello\nworld\n' });
      await consumer.waitFor((lines) => lines.length >= 2, 10_000);
      consumer.kill('SIGINT');
      const r = await consumer.done;
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout.toString(), 'hello\nworld\n');
      assert.match(r.stderr, /Processed a total of 2 messages/);
    } finally {
      consumer.kill();
    }
  });

  test('--group commits offsets: a second run continues where the first stopped', async () => {
    await ok(['topics', 'create', 'grouped', '--partitions', '1', ...b]);
    const input = Array.from({ length: 10 }, (_, i) => `m${i}`).join('\n');
    await ok(['produce', 'grouped', '--quiet', ...b], { input });
    const first = await ok([
      'consume',
      'grouped',
      '--group',
      'g1',
      '--from-beginning',
      '--max-messages',
      '4',
      ...b,
    ]);
    assert.equal(first.stdout.toString(), 'm0\nm1\nm2\nm3\n');
    if (/does not serve consumer group offsets/.test(first.stderr)) return;
    const second = await ok(['consume', 'grouped', '--group', 'g1', '--max-messages', '3', ...b]);
    assert.equal(second.stdout.toString(), 'm4\nm5\nm6\n');
    const rest = await ok(['consume', 'grouped', '--group', 'g1', '--exit-at-end', ...b]);
    assert.equal(rest.stdout.toString(), 'm7\nm8\nm9\n');
  });

  test('a missing topic, or a partition the topic lacks, exits 1 with one line (no usage text)', async () => {
    const c = await tributary(['consume', 'nowhere', '--max-messages', '1', ...b]);
    assert.equal(c.code, 1, describeRun(c));
    assert.match(c.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
    await ok(['topics', 'create', 'small', '--partitions', '1', ...b]);
    const p = await tributary(['produce', 'small', '--partition', '3', ...b], { input: 'x\n' });
    assert.equal(p.code, 1, describeRun(p));
    assert.equal(p.stderr.trim(), 'tributary: topic small has no partition 3 (it has 1)');
    const q = await tributary([
      'consume',
      'small',
      '--partition',
      '3',
      '--max-messages',
      '1',
      ...b,
    ]);
    assert.equal(q.code, 1, describeRun(q));
    assert.equal(q.stderr.trim(), 'tributary: topic small has no partition 3 (it has 1)');
  });
});
