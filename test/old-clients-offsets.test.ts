/**
 * ListOffsets v0 (old_style_offsets, max_num_offsets) as 0.9-era clients use it, on a partition
 * with many small segments (log.segment.bytes=2048): on the wire, for latest (the high watermark,
 * then the segment base offsets, newest first), earliest (the log start offset) and
 * max_num_offsets 1; then through kafka-python 0.9/0.10 (seek_to_beginning / seek_to_end) and
 * kcat in 0.9 mode (`-o end`, `-o -5`).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import {
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
} from '../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import {
  defaultListOffsetsRequest,
  defaultListOffsetsRequestListOffsetsPartition,
} from '../src/protocol/messages/list-offsets-request.ts';
import type { ListOffsetsResponse } from '../src/protocol/messages/list-offsets-response.ts';
import { parseMessageSet } from '../src/protocol/records/legacy.ts';
import { BrokerProcess, describeRun } from '../src/testing/broker-process.ts';
import { KCAT_09, kcatConsume, topicName } from '../src/testing/clients.ts';
import { kafkaPythonOld, type ProduceReport } from '../src/testing/old-clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';

const COUNT = 200;

describe('ListOffsets v0 for old clients', () => {
  let broker: BrokerProcess;
  let client: WireClient;
  const topic = topicName('old-offsets');

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'log.segment.bytes': '2048' } });
    // One request per record (linger 0), so that segments can roll between batches.
    const cfg = { mode: 'produce', bootstrap: broker.bootstrap, topic, api: [0, 9], lingerMs: 0 };
    const r = await kafkaPythonOld<ProduceReport>({
      ...cfg,
      codec: 'none',
      tag: 'o',
      count: COUNT,
    });
    assert.deepEqual(r.report.errors, [], r.context);
    client = await WireClient.connect('127.0.0.1', broker.port);
  });

  after(async () => {
    await client?.close();
    await broker?.cleanup();
  });

  async function oldStyle(timestamp: number, maxNumOffsets: number): Promise<number[]> {
    const partition = { ...defaultListOffsetsRequestListOffsetsPartition(), timestamp };
    const req = {
      ...defaultListOffsetsRequest(),
      topics: [{ name: topic, partitions: [{ ...partition, maxNumOffsets }] }],
    };
    const res = await client.request<ListOffsetsResponse>(ApiKey.ListOffsets, 0, req);
    const p = res.topics[0]?.partitions[0];
    assert.equal(p?.errorCode, 0);
    return [...(p?.oldStyleOffsets ?? [])];
  }

  async function firstOffsetAt(offset: number): Promise<number | undefined> {
    const partition = { ...defaultFetchRequestFetchPartition(), fetchOffset: offset };
    const req = {
      ...defaultFetchRequest(),
      topics: [{ topic, topicId: '', partitions: [{ ...partition, partitionMaxBytes: 4096 }] }],
    };
    const res = await client.request<FetchResponse>(ApiKey.Fetch, 0, req);
    const records = res.responses[0]?.partitions[0]?.records;
    assert.ok(Buffer.isBuffer(records));
    return (await parseMessageSet(records))[0]?.offset;
  }

  test('latest: the high watermark, then segment base offsets newest first; earliest; max 1', async () => {
    const latest = await oldStyle(-1, 1000);
    assert.equal(latest[0], COUNT);
    assert.ok(latest.length > 3, `several segments: ${latest}`);
    assert.equal(latest.at(-1), 0);
    for (let i = 1; i < latest.length; i++) {
      assert.ok((latest[i] ?? 0) < (latest[i - 1] ?? 0), `descending: ${latest}`);
    }
    // Every base offset is where a segment (so a batch) starts: a fetch there begins with it.
    for (const base of latest.slice(1)) assert.equal(await firstOffsetAt(base), base);
    assert.deepEqual(await oldStyle(-1, 3), latest.slice(0, 3));
    assert.deepEqual(await oldStyle(-1, 1), [COUNT]);
    assert.deepEqual(await oldStyle(-2, 1), [0]);
    assert.deepEqual(await oldStyle(-2, 10), [0]);
  });

  test('kafka-python 0.9/0.10 seek_to_beginning/seek_to_end; kcat 0.9 -o end and -o -5', async () => {
    for (const api of [
      [0, 9],
      [0, 10],
    ]) {
      const cfg = { mode: 'positions', bootstrap: broker.bootstrap, topic, api };
      const r = await kafkaPythonOld<{ beginning: number; end: number }>(cfg);
      assert.deepEqual([r.report.beginning, r.report.end], [0, COUNT], r.context);
    }
    const end = await kcatConsume(broker.bootstrap, topic, { offset: 'end', extra: KCAT_09 });
    assert.equal(end.records.length, 0, describeRun(end.result));
    const tail = await kcatConsume(broker.bootstrap, topic, { offset: '-5', extra: KCAT_09 });
    const offsets = tail.records.map((r) => r.offset);
    assert.deepEqual(offsets, [195, 196, 197, 198, 199], describeRun(tail.result));
  });
});
