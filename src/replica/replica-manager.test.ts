import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { newTopicId } from '../common/ids.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { BrokerConfig } from '../config/broker-config.ts';
import { LogManager } from '../storage/log-manager.ts';
import { resolvePartitionConfig } from './partition-config.ts';
import { ReplicaManager } from './replica-manager.ts';

const LOCAL = 1;

async function setup() {
  const clock = new ManualClock(1_700_000_000_000);
  const config = BrokerConfig.from(new Map());
  const logs = await LogManager.open({
    logDirs: ['/data'],
    clock,
    fs: new MemoryFileSystem(),
    defaultConfig: resolvePartitionConfig(config, new Map()).log,
    nodeId: LOCAL,
  });
  // A fetcher that starts asks for its leader's address first: the count tells whether any did.
  const addressLookups: number[] = [];
  const manager = new ReplicaManager(logs, config, clock, LOCAL, {
    leaderAddress: (id) => {
      addressLookups.push(id);
      return undefined;
    },
    fetcher: {
      localBrokerId: LOCAL,
      partitionBytesMax: 1 << 20,
      responseBytesMax: 10 << 20,
      waitMaxMs: 500,
      minBytes: 1,
      backoffMs: 1_000,
      syncBeforeNextFetch: false,
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
    },
    proposeIsr: () => Promise.resolve(null),
    lagTimeMaxMs: 30_000,
    log: () => undefined,
  });
  return { logs, manager, addressLookups };
}

const follower = (partition: number) => ({
  topic: 't',
  topicId: TOPIC_ID,
  partition,
  leader: 2,
  leaderEpoch: 1,
  replicas: [2, LOCAL],
  isr: [2],
  partitionEpoch: 1,
});
const TOPIC_ID = newTopicId();

describe('ReplicaManager', () => {
  it('starts no replica fetcher once the broker began to shut down (as Kafka)', async () => {
    const { logs, manager, addressLookups } = await setup();
    assert.deepEqual([...(await manager.applyLeadership([follower(0)], new Map()))], []);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(addressLookups, [2], 'a follower fetches from its leader');

    manager.beginShutdown();
    assert.deepEqual([...(await manager.applyLeadership([follower(1)], new Map()))], []);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(addressLookups, [2], 'a partition made follower while stopping does not');
    assert.equal(manager.get('t', 1)?.isLeader, false, 'it is a follower all the same');
    await manager.stop();
    await logs.close();
  });
});
