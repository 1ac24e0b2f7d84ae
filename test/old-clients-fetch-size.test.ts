/**
 * Fetch size semantics for old fetchers (Fetch v0-v3, MessageSet v0/v1 converted from stored
 * batches), on the wire and with kafka-python:
 * - v0-v2: the converted set is cut at partition_max_bytes, so a limit that ends mid-message
 *   gives a partial trailing message, which the client skips (and fetches again from there);
 * - v3 (KIP-74): the first message comes whole even when larger than the limit;
 * - a message larger than the limit makes kafka-python in 0.9 and 0.10 mode raise
 *   RecordTooLargeError at that offset, every poll (it does not grow its fetch size), as against
 *   Kafka 0.9/0.10; with api_version (0,10,1) (Fetch v3) it reads the message.
 * Offsets 0-199 are small messages from kafka-python 0.9 (uncompressed, so big v2 batches that a
 * fetch starts in the middle of), 200 is a 5000-byte message, 201-210 small ones, 211-260 one
 * gzip batch (a wrapper larger than 1000 bytes).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import {
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
} from '../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import { parseMessageSet } from '../src/protocol/records/legacy.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { kcatProduce, topicName } from '../src/testing/clients.ts';
import {
  type KpConsumeReport,
  kafkaPythonOld,
  type ProduceReport,
} from '../src/testing/old-clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';

const BIG = 200;
const BIG_SIZE = 5000;
const TOTAL = 261;

describe('fetch size semantics for old fetchers', () => {
  let broker: BrokerProcess;
  const topic = topicName('old-fetch-size');

  before(async () => {
    broker = await BrokerProcess.start();
    const cfg = { mode: 'produce', bootstrap: broker.bootstrap, topic, api: [0, 9] };
    const small = await kafkaPythonOld<ProduceReport>({
      ...cfg,
      codec: 'none',
      tag: 's',
      count: BIG,
    });
    assert.deepEqual(small.report.errors, [], small.context);
    const big = `big:${'B'.repeat(BIG_SIZE)}\n`;
    const tail = Array.from({ length: 10 }, (_, i) => `tail-${i}:after the big one ${i}\n`);
    await kcatProduce(broker.bootstrap, topic, big + tail.join(''), { keyDelimiter: ':' });
    const gz = await kafkaPythonOld<ProduceReport>({ ...cfg, codec: 'gzip', tag: 'g', count: 50 });
    assert.deepEqual(gz.report.offsets.at(-1), TOTAL - 1, gz.context);
  });

  after(async () => {
    await broker?.cleanup();
  });

  async function fetchRaw(version: number, offset: number, limit: number): Promise<Buffer> {
    const client = await WireClient.connect('127.0.0.1', broker.port);
    try {
      const partition = { ...defaultFetchRequestFetchPartition(), fetchOffset: offset };
      const req = {
        ...defaultFetchRequest(),
        maxBytes: 1 << 20,
        topics: [{ topic, topicId: '', partitions: [{ ...partition, partitionMaxBytes: limit }] }],
      };
      const res = await client.request<FetchResponse>(ApiKey.Fetch, version, req);
      const p = res.responses[0]?.partitions[0];
      assert.equal(p?.errorCode, 0);
      const records = p?.records;
      assert.ok(Buffer.isBuffer(records), 'records');
      return records;
    } finally {
      await client.close();
    }
  }

  test('on the wire: v0-v2 cut at the limit with a partial trailing message; v3 keeps the first whole', async () => {
    const cases: Array<[number, number]> = [
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 1],
    ];
    for (const [version, magic] of cases) {
      // From offset 7 (inside a stored batch): the set starts at 7, as Kafka's down-conversion.
      const data = await fetchRaw(version, 7, 1000);
      assert.equal(data.length, 1000, `v${version}: cut at partition_max_bytes`);
      const entries = await parseMessageSet(data);
      const offsets = entries.flatMap((e) => e.messages.map((m) => m.offset));
      assert.equal(offsets[0], 7, `v${version}: first offset`);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => 7 + i),
        `v${version}: in order`,
      );
      assert.ok(
        entries.every((e) => e.magic === magic),
        `v${version}: magic ${magic}`,
      );
      let complete = 0;
      for (const e of entries) complete += 12 + (magic === 0 ? 14 : 22) + lengths(e.messages[0]);
      const tail = data.subarray(complete);
      assert.ok(tail.length > 0 && tail.length < 12 + tail.readInt32BE(8), `v${version}: partial`);
    }
    // The big message: v2 gives only a partial message, v3 the whole message (KIP-74).
    assert.equal((await fetchRaw(2, BIG, 1000)).length, 1000);
    const whole = await fetchRaw(3, BIG, 1000);
    const [big] = await parseMessageSet(whole);
    assert.equal(big?.messages[0]?.value?.length, BIG_SIZE);
    assert.equal(whole.length, 12 + 22 + 3 + BIG_SIZE, 'only the first message');
  });

  test('kafka-python 0.9/0.10 skip partial messages and raise RecordTooLargeError at a big one', async () => {
    for (const [api, limit] of [
      [[0, 9], 1000],
      [[0, 10], 700],
    ] as const) {
      const r = await kafkaPythonOld<KpConsumeReport>({
        mode: 'assign',
        bootstrap: broker.bootstrap,
        topic,
        api,
        expect: TOTAL,
        maxPartitionFetchBytes: limit,
        timeoutS: 5,
      });
      const offsets = r.report.records.map((row) => row[1]);
      assert.deepEqual(
        offsets,
        Array.from({ length: BIG }, (_, i) => i),
        r.context,
      );
      assert.ok(r.report.errors.length > 0, r.context);
      for (const e of r.report.errors) {
        assert.match(e, /^RecordTooLargeError: .*partition=0\): 200\}/, r.context);
      }
    }
  });

  test('kafka-python (0,10,1) (Fetch v3) reads the big message whole; a big gzip wrapper too', async () => {
    const r = await kafkaPythonOld<KpConsumeReport>({
      mode: 'assign',
      bootstrap: broker.bootstrap,
      topic,
      api: [0, 10, 1],
      expect: TOTAL,
      maxPartitionFetchBytes: 1000,
    });
    assert.deepEqual(r.report.errors, [], r.context);
    const offsets = r.report.records.map((row) => row[1]);
    assert.deepEqual(
      offsets,
      Array.from({ length: TOTAL }, (_, i) => i),
      r.context,
    );
    assert.equal((r.report.records[BIG]?.[5]?.length ?? 0) / 2, BIG_SIZE);
  });

  test('a gzip wrapper larger than the limit: 0.9 raises RecordTooLargeError at its first offset', async () => {
    const r = await kafkaPythonOld<KpConsumeReport>({
      mode: 'assign',
      bootstrap: broker.bootstrap,
      topic,
      api: [0, 9],
      offset: BIG + 11,
      expect: 50,
      maxPartitionFetchBytes: 1000,
      timeoutS: 4,
    });
    assert.deepEqual(r.report.records, [], r.context);
    assert.match(
      r.report.errors[0] ?? '',
      /^RecordTooLargeError: .*partition=0\): 211\}/,
      r.context,
    );
  });
});

function lengths(m: { key: Buffer | null; value: Buffer | null } | undefined): number {
  return (m?.key?.length ?? 0) + (m?.value?.length ?? 0);
}
