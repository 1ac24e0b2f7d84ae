/**
 * A topic deletion is persisted in the metadata before its partition directories go. A crash in
 * between (here: the rename of the directory fails, then the power goes) must not bring the old
 * records back: at restart the directory's topic id is no longer live, so it is removed, and a new
 * topic of the same name starts empty. Before topic ids were kept on disk, the log manager opened
 * every directory it found and matched logs to topics by name, so the new topic inherited them.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { MemoryFileSystem } from '../src/common/memory-fs.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { parsePartitionMetadata } from '../src/storage/checkpoint.ts';
import { FaultFileSystem } from '../src/testing/fault-fs.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

const DATA = '/data';

function batch(value: string): Buffer {
  return buildRecordBatchSync({
    now: Date.now(),
    records: [{ key: null, value: Buffer.from(value) }],
  });
}

test('a crash between persisting a topic deletion and removing its directories loses the old topic for good', async () => {
  const disk = new MemoryFileSystem({ trackDurability: true });
  const fs1 = new FaultFileSystem(disk);
  const first = await InProcessBroker.start({ fs: fs1, dataDir: DATA });
  await first.createTopic('events', 2);
  const oldId = first.broker.context.metadata.get('events')?.topicId;
  for (const p of [0, 1]) {
    const partition = first.broker.context.partitions.get('events', p);
    assert.ok(partition !== undefined);
    const out = await partition.appendAsLeader(batch(`old-${p}`), -1);
    assert.equal(out.errorCode, 0);
  }
  const idFile = disk.peek('/data/events-0/partition.metadata');
  assert.ok(idFile !== undefined, 'each partition directory names its topic id');
  assert.equal(parsePartitionMetadata(idFile.toString('utf8')), oldId);

  // The deletion is persisted; moving the first directory out of the way fails.
  fs1.addFault({ ops: ['rename'], path: '/data/events-0', kind: 'EIO', times: Infinity });
  await assert.rejects(first.broker.context.controller.deleteTopic('events'));
  assert.equal(first.broker.context.metadata.get('events'), undefined);
  assert.ok(disk.peek('/data/events-0/00000000000000000000.log') !== undefined);

  // Power loss: what was not synced is gone, and the old process writes nothing more.
  disk.crash();
  fs1.addFault({ kind: 'EIO', times: Infinity });
  await first.stop().catch(() => undefined);

  const second = await InProcessBroker.start({ fs: new FaultFileSystem(disk), dataDir: DATA });
  try {
    assert.equal(second.broker.context.metadata.get('events'), undefined, 'the deletion held');
    await second.broker.context.partitions.logs.removalsDone();
    const left = await disk.readdir('/data');
    assert.ok(
      !left.some((name) => name.startsWith('events-')),
      `the stray directories are removed: ${left.join(' ')}`,
    );
    await second.createTopic('events', 2);
    const newId = second.broker.context.metadata.get('events')?.topicId;
    assert.ok(newId !== undefined && newId !== oldId);
    for (const p of [0, 1]) {
      const partition = second.broker.context.partitions.get('events', p);
      assert.ok(partition !== undefined);
      assert.equal(partition.log.logEndOffset, 0, `partition ${p} starts empty`);
      const read = await partition.log.read(0, 1 << 20);
      assert.equal(read.records.length, 0, 'nothing of the old topic is read');
      const out = await partition.appendAsLeader(batch(`new-${p}`), -1);
      assert.deepEqual([out.errorCode, out.baseOffset], [0, 0]);
    }
  } finally {
    await second.stop();
  }
});

test('a directory from before topic ids is adopted by its live topic; one of another id is not', async () => {
  const disk = new MemoryFileSystem({ trackDurability: true });
  const first = await InProcessBroker.start({ fs: disk, dataDir: DATA });
  await first.createTopic('kept', 1);
  await first.createTopic('other', 1);
  const keptId = first.broker.context.metadata.get('kept')?.topicId;
  const partition = first.broker.context.partitions.get('kept', 0);
  assert.ok(partition !== undefined);
  assert.equal((await partition.appendAsLeader(batch('v'), -1)).errorCode, 0);
  await first.stop();
  // As an older Tributary left it: no partition.metadata.
  await disk.unlink('/data/kept-0/partition.metadata');
  // And a directory claiming to be `other`'s but holding another topic's id.
  disk.poke(
    '/data/other-0/partition.metadata',
    Buffer.from('version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAg\n'),
  );

  const second = await InProcessBroker.start({ fs: disk, dataDir: DATA });
  try {
    const kept = second.broker.context.partitions.get('kept', 0);
    assert.equal(kept?.log.logEndOffset, 1, 'the old directory is adopted with its records');
    const written = disk.peek('/data/kept-0/partition.metadata');
    assert.equal(parsePartitionMetadata(written?.toString('utf8') ?? ''), keptId);
    const other = second.broker.context.partitions.get('other', 0);
    assert.ok(other !== undefined, 'the live topic gets a fresh log');
    assert.equal(
      parsePartitionMetadata(disk.peek('/data/other-0/partition.metadata')?.toString('utf8') ?? ''),
      second.broker.context.metadata.get('other')?.topicId,
    );
  } finally {
    await second.stop();
  }
});
