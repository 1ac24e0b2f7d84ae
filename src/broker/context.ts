/**
 * What handlers are given: the components that own state, and the broker's identity. Handlers
 * call these; they never keep state of their own.
 */
import { hostname } from 'node:os';
import type { LocalMetadataStore } from '../cluster/local-metadata.ts';
import type { Clock } from '../common/clock.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import type { GroupCoordinator } from '../group/coordinator.ts';
import type { ReadBufferPool } from '../storage/read-buffers.ts';
import type { ProducerIdAllocator } from '../txn/producer-id-allocator.ts';
import type { ApiVersionRange } from './dispatcher.ts';
import type { ConnectionInfo } from './handler.ts';
import type { PartitionManager } from './partitions.ts';
import type { FetchPurgatory } from './purgatory.ts';

export interface AdvertisedEndpoint {
  readonly listenerName: string;
  readonly host: string;
  readonly port: number;
}

export interface BrokerContext {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly clock: Clock;
  readonly metadata: LocalMetadataStore;
  readonly partitions: PartitionManager;
  readonly purgatory: FetchPurgatory;
  readonly producerIds: ProducerIdAllocator;
  readonly groups: GroupCoordinator;
  /** Buffers for Fetch reads from segment files, reused once the response is sent. */
  readonly readBuffers: ReadBufferPool;
  /** Filled once the dispatcher exists (ApiVersions is built from it). */
  apiVersions: readonly ApiVersionRange[];
  /** Filled once the listeners are bound (a port of 0 becomes the real port). */
  endpoints: readonly AdvertisedEndpoint[];
  log(message: string): void;
}

/** The endpoint this broker publishes to a client connected on `connection`'s listener. */
export function endpointFor(b: BrokerContext, connection: ConnectionInfo): AdvertisedEndpoint {
  const same = b.endpoints.find((e) => e.listenerName === connection.listenerName);
  const e = same ?? b.endpoints[0];
  if (e === undefined) throw new Error('broker has no endpoints');
  const host = e.host === '' || e.host === '0.0.0.0' || e.host === '::' ? hostname() : e.host;
  return { ...e, host };
}
