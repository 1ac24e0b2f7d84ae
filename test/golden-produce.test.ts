/**
 * Golden Produce frames: the Produce requests real clients sent through a recording proxy to a
 * Tributary broker (captured by tools/capture-produce.ts into test/fixtures/golden/, listed with
 * the records they carry in produce-manifest.json). For each frame:
 *  - the header and body decode with the expected fields, every byte consumed, and re-encode to
 *    identical bytes;
 *  - its record set is in the format the version implies (v2 batches from Produce v3, else a
 *    MessageSet of magic 1 for v2 and magic 0 below), compressed with the client's codec, every
 *    batch or message passes its checks (length, magic, count, CRC), and the decompressed records
 *    are the expected keys, values, headers and (where the client was given them) timestamps;
 *  - compressed payloads are framed the way that client frames them (raw or xerial snappy, LZ4
 *    header checksum and content size), and v2 batch producer fields are the client's;
 *  - a fresh embedded broker that is sent the frame on a raw socket answers error code 0 and then
 *    holds exactly those records.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBroker } from '../src/index.ts';
import { XERIAL_MAGIC } from '../src/protocol/compression/snappy.ts';
import { xxhash32 } from '../src/protocol/compression/xxhash32.ts';
import { readRequestHeader } from '../src/protocol/headers.ts';
import {
  apiDescriptors,
  decodeRequestHeader,
  encodeRequestHeader,
  type ProduceRequest,
  type ProduceResponse,
} from '../src/protocol/messages/index.ts';
import { Reader } from '../src/protocol/reader.ts';
import { batchPositions, readRecordBatch } from '../src/protocol/records/batch-builder.ts';
import {
  ATTR_COMPRESSION_MASK,
  checkBatch,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
} from '../src/protocol/records/batch-header.ts';
import { CODEC_NAMES } from '../src/protocol/records/index.ts';
import { parseMessageSet } from '../src/protocol/records/legacy.ts';
import { Writer } from '../src/protocol/writer.ts';
import { findRepoRoot } from '../tools/codegen/main.ts';

interface ExpectedRecord {
  readonly key: string;
  readonly value: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly timestamp: number | null;
}

interface CapturedProduce {
  readonly file: string;
  readonly client: string;
  readonly mode: string;
  readonly codec: string;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ExpectedRecord[];
}

/** A record as read back, in the manifest's terms (null timestamp: not compared). */
interface SeenRecord {
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
  timestamp: number;
}

const goldenDir = join(findRepoRoot(), 'test', 'fixtures', 'golden');
const manifest = JSON.parse(
  readFileSync(join(goldenDir, 'produce-manifest.json'), 'utf8'),
) as CapturedProduce[];

/** What each client writes besides the records: client id, acks, timeout. */
const clientFields: Readonly<Record<string, { clientId: string; acks: number }>> = {
  kcat: { clientId: 'rdkafka', acks: -1 },
  'kafka-python': { clientId: 'golden-py', acks: 1 },
  kafkajs: { clientId: 'golden-js', acks: -1 },
};

/** Every (client, mode, codec) captured, with the Produce version the client chose. */
const expectedFrames: readonly string[] = [
  ...['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((c) => `kcat modern ${c} v7`),
  ...['none', 'gzip', 'snappy', 'lz4'].map((c) => `kcat 0.9 ${c} v1`),
  ...['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((c) => `kafka-python auto ${c} v7`),
  ...['none', 'gzip', 'snappy', 'lz4'].map((c) => `kafka-python 0.9 ${c} v1`),
  ...['none', 'gzip', 'snappy', 'lz4'].map((c) => `kafka-python 0.10 ${c} v2`),
  ...['none', 'gzip'].map((c) => `kafkajs 2.2.4 ${c} v7`),
];

/**
 * How each client frames its compressed payloads, as seen in the captures: librdkafka writes raw
 * snappy blocks and kafka-python the xerial framing; for magic 0 both write the LZ4 frame with
 * the header checksum of 0.8/0.9-era Kafka (taken over the magic too), kafka-python also sets the
 * frame's content size from magic 1 on.
 */
const expectedFraming: Readonly<Record<string, string>> = {
  'kcat modern snappy': 'snappy-raw',
  'kcat 0.9 snappy': 'snappy-raw',
  'kafka-python auto snappy': 'snappy-xerial',
  'kafka-python 0.9 snappy': 'snappy-xerial',
  'kafka-python 0.10 snappy': 'snappy-xerial',
  'kcat modern lz4': 'lz4-frame',
  'kcat 0.9 lz4': 'lz4-frame-kafka08-checksum',
  'kafka-python auto lz4': 'lz4-frame-content-size',
  'kafka-python 0.9 lz4': 'lz4-frame-kafka08-checksum',
  'kafka-python 0.10 lz4': 'lz4-frame-content-size',
};

/**
 * The v2 batch header fields a producer that is neither idempotent nor transactional writes:
 * producer id -1, and an epoch and base sequence of -1, except kafkajs, which writes 0 for both.
 */
const expectedProducerFields: Readonly<Record<string, readonly [number, number, number]>> = {
  kcat: [-1, -1, -1],
  'kafka-python': [-1, -1, -1],
  kafkajs: [-1, 0, 0],
};

/** Names the framing of a compressed payload (the bytes inside a v2 batch or legacy wrapper). */
function framing(codec: string, payload: Buffer): string {
  if (codec === 'gzip') return payload.readUInt16BE(0) === 0x1f8b ? 'gzip' : 'not gzip';
  if (codec === 'zstd') return payload.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : 'not zstd';
  if (codec === 'snappy') {
    return payload.subarray(0, 8).equals(XERIAL_MAGIC) ? 'snappy-xerial' : 'snappy-raw';
  }
  if (codec !== 'lz4' || payload.readUInt32LE(0) !== 0x184d2204) return `not ${codec}`;
  const flags = payload[4] ?? 0;
  const end = 6 + ((flags & 0x08) !== 0 ? 8 : 0);
  const checksum = payload[end];
  if (checksum === ((xxhash32(payload, 0, end) >>> 8) & 0xff)) return 'lz4-frame-kafka08-checksum';
  if (checksum !== ((xxhash32(payload, 4, end) >>> 8) & 0xff)) return 'lz4-frame-bad-checksum';
  return (flags & 0x08) !== 0 ? 'lz4-frame-content-size' : 'lz4-frame';
}

/** The compressed payload of the first entry of a record set: a v2 batch or a legacy wrapper. */
function firstPayload(records: Buffer, magic: number): Buffer {
  if (magic === 2)
    return records.subarray(RECORD_BATCH_OVERHEAD, readBatchHeader(records, 0).sizeInBytes);
  const keyAt = LOG_OVERHEAD + 4 + 2 + (magic === 1 ? 8 : 0);
  const valueAt = keyAt + 4 + Math.max(records.readInt32BE(keyAt), 0);
  return records.subarray(valueAt + 4, valueAt + 4 + records.readInt32BE(valueAt));
}

/** The record format a Produce version carries: magic 0 (v0-v1), 1 (v2), 2 (v3 and later). */
function magicOf(produceVersion: number): number {
  if (produceVersion >= 3) return 2;
  return produceVersion === 2 ? 1 : 0;
}

function text(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

function decodeFrame(bytes: Buffer): { headerVersion: number; body: ProduceRequest } {
  const frame = bytes.subarray(4);
  const info = readRequestHeader(frame);
  const api = apiDescriptors.get(0);
  assert.ok(api);
  const headerVersion = api.requestHeaderVersion(info.apiVersion);
  const r = new Reader(frame);
  const header = decodeRequestHeader(r, headerVersion);
  assert.equal(r.offset, info.bodyOffset);
  const body = api.decodeRequest(r, info.apiVersion) as ProduceRequest;
  assert.equal(r.remaining(), 0, 'every byte consumed');

  const w = Writer.frame();
  encodeRequestHeader(w, header, headerVersion);
  api.encodeRequest(w, body, info.apiVersion);
  assert.ok(Buffer.concat(w.finishFrame()).equals(bytes), 're-encodes to identical bytes');
  return { headerVersion, body };
}

/** The records of a v2 record set, every batch checked, with the codec of each batch. */
async function readV2(records: Buffer): Promise<{ codecs: string[]; seen: SeenRecord[] }> {
  const codecs: string[] = [];
  const seen: SeenRecord[] = [];
  for (const pos of batchPositions(records)) {
    assert.equal(checkBatch(records, pos), 'ok', `batch at ${pos}`);
    const batch = await readRecordBatch(records, pos);
    codecs.push(CODEC_NAMES[batch.header.attributes & ATTR_COMPRESSION_MASK] ?? '?');
    assert.equal(batch.header.baseOffset, 0, 'a producer writes base offset 0');
    assert.equal(batch.header.recordsCount, batch.records.length);
    for (const [i, r] of batch.records.entries()) {
      assert.equal(r.offset, i, 'offset deltas count from 0');
      seen.push({
        key: text(r.key),
        value: text(r.value),
        headers: r.headers.map((h) => [h.key, text(h.value)]),
        timestamp: r.timestamp,
      });
    }
  }
  return { codecs, seen };
}

/** The messages of a legacy message set (CRC-32 checked, wrappers decompressed). */
async function readLegacy(
  records: Buffer,
  magic: number,
): Promise<{ codecs: string[]; seen: SeenRecord[] }> {
  const codecs: string[] = [];
  const seen: SeenRecord[] = [];
  for (const entry of await parseMessageSet(records)) {
    assert.equal(entry.magic, magic, 'entry magic');
    codecs.push(CODEC_NAMES[entry.codec] ?? '?');
    for (const m of entry.messages) {
      assert.equal(m.magic, magic, 'message magic');
      assert.equal(m.timestampType, 0, 'CreateTime');
      seen.push({ key: text(m.key), value: text(m.value), headers: [], timestamp: m.timestamp });
    }
  }
  return { codecs, seen };
}

/** Compares read records with the manifest's; timestamps only where the client was given one. */
function assertRecords(seen: readonly SeenRecord[], expected: readonly ExpectedRecord[]): void {
  assert.deepEqual(
    seen.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
    expected.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers.map(([k, v]) => [k, v]),
    })),
  );
  for (const [i, e] of expected.entries()) {
    if (e.timestamp !== null) assert.equal(seen[i]?.timestamp, e.timestamp, `timestamp ${i}`);
  }
}

/** Sends one frame on a raw socket and returns the response frame (size prefix dropped). */
function roundTrip(port: number, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no response within 10 s'));
    }, 10_000);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      if (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(pending.subarray(4, 4 + pending.readInt32BE(0)));
      }
    });
    socket.write(frame);
  });
}

test('the produce manifest covers every client, mode and codec', () => {
  const got = manifest.map((c) => `${c.client} ${c.mode} ${c.codec} v${c.apiVersion}`);
  assert.deepEqual(got.sort(), [...expectedFrames].sort());
  for (const c of manifest) assert.ok(c.records.length > 0, c.file);
});

for (const captured of manifest) {
  test(`golden produce ${captured.file}: decodes, re-encodes, records check`, async () => {
    const bytes = readFileSync(join(goldenDir, captured.file));
    assert.ok(bytes.length < 4096, 'a small fixture');
    assert.equal(bytes.readInt32BE(0), bytes.length - 4, 'size prefix');
    const info = readRequestHeader(bytes.subarray(4));
    assert.equal(info.apiKey, 0);
    assert.equal(info.apiVersion, captured.apiVersion);
    assert.equal(info.correlationId, captured.correlationId);
    const fields = clientFields[captured.client];
    assert.ok(fields, captured.client);
    assert.equal(info.clientId, fields.clientId);

    const { body } = decodeFrame(bytes);
    assert.equal(body.transactionalId, null);
    assert.equal(body.acks, fields.acks);
    assert.equal(body.timeoutMs, 30_000);
    assert.equal(body.topicData.length, 1);
    const topic = body.topicData[0];
    assert.equal(topic?.name, captured.topic);
    assert.equal(topic?.partitionData.length, 1);
    const partition = topic?.partitionData[0];
    assert.equal(partition?.index, captured.partition);
    const records = partition?.records;
    assert.ok(Buffer.isBuffer(records), 'records decode as a slice of the frame');
    assert.ok(records.length > 0);

    const magic = magicOf(captured.apiVersion);
    assert.equal(records.readInt8(16), magic, 'record format of the first entry');
    const { codecs, seen } = magic === 2 ? await readV2(records) : await readLegacy(records, magic);
    // Compressed: one batch (or wrapper) holding every record. Uncompressed: v2 still puts them
    // in one batch; a legacy message set has one message per record.
    const batches = captured.codec === 'none' && magic < 2 ? captured.records.length : 1;
    assert.deepEqual(codecs, new Array<string>(batches).fill(captured.codec), 'codecs');
    assertRecords(seen, captured.records);
    if (captured.codec !== 'none') {
      const scenario = `${captured.client} ${captured.mode} ${captured.codec}`;
      const want = expectedFraming[scenario] ?? captured.codec;
      assert.equal(framing(captured.codec, firstPayload(records, magic)), want, 'framing');
    }
    if (magic === 2) {
      const h = readBatchHeader(records, 0);
      const want = expectedProducerFields[captured.client];
      assert.deepEqual([h.producerId, h.producerEpoch, h.baseSequence], want, 'producer fields');
    }
    if (magic === 0)
      assert.ok(
        seen.every((r) => r.timestamp === -1),
        'no timestamps in magic 0',
      );
  });

  test(`golden produce ${captured.file}: an embedded broker accepts it`, async () => {
    const broker = await startBroker();
    try {
      await broker.createTopic(captured.topic, { partitions: 1 });
      const bytes = readFileSync(join(goldenDir, captured.file));
      const response = await roundTrip(broker.port, bytes);
      const api = apiDescriptors.get(0);
      assert.ok(api);
      const r = new Reader(response);
      assert.equal(r.readInt32(), captured.correlationId, 'correlation id');
      if (api.responseHeaderVersion(captured.apiVersion) >= 1) r.readUnknownTaggedFields();
      const decoded = api.decodeResponse(r, captured.apiVersion) as ProduceResponse;
      assert.equal(r.remaining(), 0, 'the whole response was read');
      const results = decoded.responses.flatMap((t) =>
        t.partitionResponses.map((p) => ({
          topic: t.name,
          partition: p.index,
          error: p.errorCode,
        })),
      );
      assert.deepEqual(results, [
        { topic: captured.topic, partition: captured.partition, error: 0 },
      ]);

      const stored = await broker.records(captured.topic);
      assert.deepEqual(
        stored.map((s) => s.offset),
        captured.records.map((_, i) => i),
      );
      assertRecords(
        stored.map((s) => ({
          key: text(s.key),
          value: text(s.value),
          headers: s.headers.map((h) => [h.key, text(h.value)]),
          timestamp: s.timestamp,
        })),
        captured.records,
      );
    } finally {
      await broker.stop();
    }
  });
}
