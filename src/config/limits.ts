/**
 * Every resource limit of the broker, by name, with the config key that sets it and what happens
 * at the limit. The values live in the config (config-def.ts); this list is what operators and
 * tests read to know that nothing grows without bound. A test checks every key is a real config.
 */
export interface LimitDef {
  /** Most significant word first, unit last (STYLE.md). */
  readonly name: string;
  readonly configKey: string;
  readonly atLimit: string;
}

export const limits: readonly LimitDef[] = [
  {
    name: 'requestBytesMax',
    configKey: 'socket.request.max.bytes',
    atLimit: 'the connection is closed before the frame is read',
  },
  {
    name: 'connectionsMax',
    configKey: 'max.connections',
    atLimit: 'a new connection is closed at once',
  },
  {
    name: 'connectionsPerIpMax',
    configKey: 'max.connections.per.ip',
    atLimit: 'a new connection from that address is closed at once',
  },
  {
    name: 'inflightRequestsPerConnectionMax',
    configKey: 'tributary.connection.inflight.requests.max',
    atLimit: 'the broker stops reading the connection until responses are sent',
  },
  {
    name: 'connectionBufferedBytesMax',
    configKey: 'tributary.connection.buffered.bytes.max',
    atLimit: 'the broker stops reading a connection whose client does not read its responses',
  },
  {
    name: 'connectionIdleMs',
    configKey: 'connections.max.idle.ms',
    atLimit: 'an idle connection is closed',
  },
  {
    name: 'logSyncWriteBytesMax',
    configKey: 'tributary.log.sync.write.bytes.max',
    atLimit: 'a larger grouped log write goes through the thread pool instead of the event loop',
  },
  {
    name: 'logSyncWriteSlowMs',
    configKey: 'tributary.log.sync.write.slow.ms',
    atLimit: 'log writes go through the thread pool for one second',
  },
  {
    name: 'fetchReadBuffersBytes',
    configKey: 'tributary.fetch.read.buffers.bytes',
    atLimit: 'read buffers given back beyond it are left to the garbage collector',
  },
  {
    name: 'batchBytesMax',
    configKey: 'message.max.bytes',
    atLimit:
      'Produce answers MESSAGE_TOO_LARGE for that partition (topic override: max.message.bytes)',
  },
  {
    name: 'topicsMax',
    configKey: 'tributary.topics.max',
    atLimit: 'CreateTopics and auto-creation answer POLICY_VIOLATION',
  },
  {
    name: 'partitionsMax',
    configKey: 'tributary.partitions.max',
    atLimit: 'CreateTopics, CreatePartitions and auto-creation answer POLICY_VIOLATION',
  },
  {
    name: 'fetchResponseBytesMax',
    configKey: 'fetch.max.bytes',
    atLimit:
      'the fetch response stops at whole batches below it (the first batch always goes, KIP-74)',
  },
  {
    name: 'fetchWaitersMax',
    configKey: 'tributary.fetch.purgatory.max',
    atLimit: 'a long-poll fetch is answered at once with what there is',
  },
  {
    name: 'tailCacheBytes',
    configKey: 'tributary.tail.cache.bytes',
    atLimit: 'the oldest cached batches are evicted; reads go to the segment files',
  },
  {
    name: 'groupMembersMax',
    configKey: 'group.max.size',
    atLimit: 'JoinGroup answers GROUP_MAX_SIZE_REACHED',
  },
  {
    name: 'fetchSessionsMax',
    configKey: 'max.incremental.fetch.session.cache.slots',
    atLimit:
      'fetches are answered session-less (session id 0), as Kafka does when its cache is full',
  },
];
