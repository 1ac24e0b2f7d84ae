/**
 * Fetch reads from segment files go into pooled buffers that are reused once each response has
 * been written (src/storage/read-buffers.ts). A buffer given back too early would send another
 * response's bytes. So: real consumers read everything from disk concurrently while a client
 * that does not read keeps responses queued in the broker (holding their buffers); every record
 * each of them gets must be exactly as produced, and the pool must really have reused buffers.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startBroker } from '../src/index.ts';
import { ApiKey, apiDescriptors } from '../src/protocol/messages/api-table.ts';
import { defaultFetchRequest } from '../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import { Reader } from '../src/protocol/reader.ts';
import { batchPositions, readRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { Writer } from '../src/protocol/writer.ts';
import { kcatConsume, payload } from '../src/testing/clients.ts';

const FETCH = apiDescriptors.get(ApiKey.Fetch);
const VALUE_BYTES = 300;

/** A Fetch v4 frame for partition 0 of topic from `offset`, up to 1 MiB, not waiting. */
function fetchFrame(topic: string, offset: number, correlationId: number): Buffer {
  if (FETCH === undefined) throw new Error('no Fetch codec');
  const w = Writer.frame();
  w.writeInt16(ApiKey.Fetch);
  w.writeInt16(4);
  w.writeInt32(correlationId);
  w.writeNullableString('slow', false);
  const partition = {
    partition: 0,
    currentLeaderEpoch: -1,
    fetchOffset: offset,
    lastFetchedEpoch: -1,
    logStartOffset: -1,
    partitionMaxBytes: 1 << 20,
    replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
  };
  const body = {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [partition] }],
  };
  FETCH.encodeRequest(w, body, 4);
  return Buffer.concat(w.finishFrame());
}

/** Response frames (without the size) read from s until `count` arrived. */
function readFrames(s: ReturnType<typeof connect>, count: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const frames: Buffer[] = [];
    let pending = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0);
        frames.push(pending.subarray(4, 4 + size));
        pending = pending.subarray(4 + size);
      }
      if (frames.length === count) resolve(frames);
    });
    s.resume();
  });
}

/**
 * Sends fetches and reads nothing until `hold` settles, so their responses wait in the broker's
 * socket queue meanwhile; then returns every record they carried as key -> value.
 */
async function slowFetcher(
  port: number,
  topic: string,
  offsets: readonly number[],
  hold: Promise<unknown>,
): Promise<Map<number, Buffer>> {
  const s = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  s.pause();
  for (const [i, o] of offsets.entries()) s.write(fetchFrame(topic, o, i + 1));
  await hold.catch(() => undefined);
  const frames = await readFrames(s, offsets.length);
  s.destroy();
  const records = new Map<number, Buffer>();
  for (const frame of frames) {
    const res = FETCH?.decodeResponse(new Reader(frame, 4), 4) as FetchResponse;
    const data = res.responses[0]?.partitions[0]?.records as Buffer;
    for (const pos of batchPositions(data)) {
      for (const r of readRecordBatchSync(data, pos).records) {
        records.set(Number(r.key?.toString()), r.value as Buffer);
      }
    }
  }
  return records;
}

test('consumers reading from disk through reused buffers get every record intact', async () => {
  const broker = await startBroker({
    config: {
      // No tail cache: every fetch reads the segment files.
      'tributary.tail.cache.bytes': 0,
      'log.segment.bytes': 1024 * 1024,
    },
  });
  try {
    const topic = 'disk-reads';
    await broker.createTopic(topic, { partitions: 2 });
    const total = 20_000;
    for (let from = 0; from < total; from += 500) {
      const records = [];
      for (let i = from; i < from + 500; i++) {
        const value = payload(i, VALUE_BYTES);
        records.push({ partition: i % 2, key: Buffer.from(String(i)), value });
      }
      await broker.produce(topic, records);
    }
    const small = [
      ...['-X', 'message.max.bytes=60000', '-X', 'fetch.max.bytes=70000'],
      ...['-X', 'max.partition.fetch.bytes=40000'],
    ];
    const consumers = Promise.all(
      [[], small, [], small].map((extra) =>
        kcatConsume(broker.bootstrapServers, topic, { extra, timeoutMs: 60_000 }),
      ),
    );
    // Partition 0 holds the even keys: offset o there is key 2 * o.
    const slow = slowFetcher(
      broker.port,
      topic,
      [0, 2000, 4000, 6000, 8000, 1000, 3000],
      consumers,
    );
    for (const { records } of await consumers) {
      assert.equal(records.length, total);
      for (const r of records) {
        const i = Number(r.key?.toString());
        assert.equal(r.partition, i % 2);
        assert.ok(r.value?.equals(payload(i, VALUE_BYTES)), `record ${i} intact`);
      }
    }
    const held = await slow;
    assert.ok(held.size >= 5000, `the slow fetcher got ${held.size} records`);
    for (const [i, value] of held) {
      assert.ok(value.equals(payload(i, VALUE_BYTES)), `held record ${i} intact`);
    }
    const stats = broker.broker.context.readBuffers.stats;
    assert.ok(stats.reused > 0, `buffers were reused (${JSON.stringify(stats)})`);
  } finally {
    await broker.stop();
  }
});
