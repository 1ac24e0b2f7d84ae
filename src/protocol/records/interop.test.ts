/**
 * Record formats against kafka-python's own implementation (kafka.record): legacy message sets
 * (magic 0 and 1, every legacy codec, including its pre-0.10 LZ4 framing for magic 0) and v2
 * batches (every codec) built there are read here, and ours are read there. Fails, naming the
 * install command, when /usr/bin/python3 or its modules are missing (Debian: python3-kafka python3-snappy
 * python3-lz4 python3-zstandard; python3-xxhash for magic 0 LZ4).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { before, beforeEach, describe, test } from 'node:test';
import { type Codec, initZstd } from '../compression/index.ts';
import { batchPositions, buildRecordBatch, readRecordBatch } from './batch-builder.ts';
import { buildMessageSet, type LegacyMagic, parseMessageSet } from './legacy.ts';

const PYTHON = '/usr/bin/python3';

const SCRIPT = `
import sys, json, base64
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords
b64 = lambda b: None if b is None else base64.b64encode(bytes(b)).decode()
unb64 = lambda s: None if s is None else base64.b64decode(s)
req = json.load(sys.stdin)
if req['op'] == 'legacy':
    b = LegacyRecordBatchBuilder(req['magic'], req['codec'], 1 << 24)
    for i, m in enumerate(req['messages']):
        b.append(i, m['ts'], unb64(m['key']), unb64(m['value']))
    sys.stdout.write(b64(b.build()))
elif req['op'] == 'v2':
    b = DefaultRecordBatchBuilder(2, req['codec'], False, 1234, 5, 6, 1 << 24)
    for i, m in enumerate(req['messages']):
        hs = [(h[0], unb64(h[1])) for h in m['headers']]
        b.append(i, m['ts'], unb64(m['key']), unb64(m['value']), hs)
    sys.stdout.write(b64(b.build()))
else:
    recs = MemoryRecords(unb64(req['data']))
    out = []
    while True:
        batch = recs.next_batch()
        if batch is None:
            break
        batch.validate_crc()
        for r in batch:
            out.append({'offset': r.offset, 'ts': r.timestamp, 'key': b64(r.key), 'value': b64(r.value),
                        'headers': [[h[0], b64(h[1])] for h in r.headers]})
    sys.stdout.write(json.dumps(out))
`;

function unavailable(modules: string): string | false {
  const r = spawnSync(PYTHON, ['-c', modules], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    return `python3 kafka-python or codecs missing (${(r.stderr ?? String(r.error)).trim().split('\n').pop()})`;
  }
  return false;
}

const missing = unavailable('import kafka.record, snappy, lz4.frame, zstandard');
/** kafka-python writes magic 0 LZ4 with its pre-0.10 framing, which needs xxhash. */
const missingXxhash = missing || unavailable('import xxhash');

/** Fails the test, naming what is missing and the install command: never a green skip. */
function requirePython(missing: string | false): void {
  if (missing !== false) {
    throw new Error(`${missing}; install the test clients with: sh scripts/install-test-deps.sh`);
  }
}

function py(req: object): string {
  const r = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(req), maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

interface PyRecord {
  offset: number;
  ts: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

const b64 = (b: Buffer | null) => (b === null ? null : b.toString('base64'));
const unb64 = (s: string | null) => (s === null ? null : Buffer.from(s, 'base64'));

const MESSAGES = Array.from({ length: 40 }, (_, i) => ({
  key: i % 5 === 0 ? null : Buffer.from(`key-${i}`),
  value: i % 7 === 3 ? null : Buffer.from(`{"n":${i},"pad":"${'p'.repeat(i * 3)}"}`),
  timestamp: 1_650_000_000_000 + i * 1000,
  headers: i % 3 === 0 ? [{ key: `h${i}`, value: Buffer.from('hv') }] : [],
}));

function pyMessages() {
  return MESSAGES.map((m) => ({
    ts: m.timestamp,
    key: b64(m.key),
    value: b64(m.value),
    headers: m.headers.map((h) => [h.key, b64(h.value)]),
  }));
}

before(async () => {
  await initZstd();
});

describe('legacy message sets with kafka-python', () => {
  beforeEach(() => requirePython(missing));

  for (const magic of [0, 1] as LegacyMagic[]) {
    for (const codec of [0, 1, 2, 3] as Codec[]) {
      test(`magic ${magic} codec ${codec}: theirs read here, ours read there`, async () => {
        if (magic === 0 && codec === 3) requirePython(missingXxhash);
        const theirs = Buffer.from(
          py({ op: 'legacy', magic, codec, messages: pyMessages() }),
          'base64',
        );
        const flat = (await parseMessageSet(theirs)).flatMap((e) => e.messages);
        assert.deepEqual(
          flat.map((m) => [m.key, m.value, m.timestamp]),
          MESSAGES.map((m) => [m.key, m.value, magic === 0 ? -1 : m.timestamp]),
        );
        const ours = await buildMessageSet(MESSAGES, { magic, codec, baseOffset: 100 });
        const read = JSON.parse(py({ op: 'read', data: ours.toString('base64') })) as PyRecord[];
        assert.deepEqual(
          read.map((r) => [r.offset, unb64(r.key), unb64(r.value), r.ts]),
          MESSAGES.map((m, i) => [100 + i, m.key, m.value, magic === 0 ? null : m.timestamp]),
        );
      });
    }
  }
});

describe('v2 batches with kafka-python', () => {
  beforeEach(() => requirePython(missing));

  for (const codec of [0, 1, 2, 3, 4] as Codec[]) {
    test(`codec ${codec}: theirs read here, ours read there`, async () => {
      const theirs = Buffer.from(py({ op: 'v2', codec, messages: pyMessages() }), 'base64');
      assert.deepEqual(batchPositions(theirs), [0]);
      const { header, records } = await readRecordBatch(theirs);
      assert.equal(header.producerId, 1234);
      assert.equal(header.attributes & 7, codec);
      assert.deepEqual(
        records.map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers]),
        MESSAGES.map((m, i) => [i, m.timestamp, m.key, m.value, m.headers]),
      );
      const ours = await buildRecordBatch({ baseOffset: 7, records: MESSAGES, compression: codec });
      const read = JSON.parse(py({ op: 'read', data: ours.toString('base64') })) as PyRecord[];
      assert.deepEqual(
        read.map((r) => [
          r.offset,
          r.ts,
          unb64(r.key),
          unb64(r.value),
          r.headers.map((h) => [h[0], unb64(h[1])]),
        ]),
        MESSAGES.map((m, i) => [
          7 + i,
          m.timestamp,
          m.key,
          m.value,
          m.headers.map((h) => [h.key, h.value]),
        ]),
      );
    });
  }
});
