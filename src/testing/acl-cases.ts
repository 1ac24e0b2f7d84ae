/**
 * One request per API of the authorization table (src/broker/authorization.ts), for the
 * table-driven ACL test (test/acls.test.ts): the body, the error a principal without ACLs gets,
 * and the ACLs (exactly the row's) that let a principal through. Names used: topic acl-t (one
 * partition), group acl-g, transactional ids acl-tx and acl-tx-listed.
 */
import { strict as assert } from 'node:assert';
import { CLUSTER_NAME, AclOperation as Op, ResourceType as RT } from '../common/acl.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';

export const AUTHORIZATION_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
]);

/** Every error code in a response, however nested (fields named errorCode or *ErrorCode). */
export function collectErrorCodes(value: unknown): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'number' && (k === 'errorCode' || k.endsWith('ErrorCode'))) out.push(x);
      else walk(x);
    }
  };
  walk(value);
  return out;
}

export type Send = (apiKey: number, version: number, body: unknown) => Promise<unknown>;

export interface Grant {
  readonly op: number;
  readonly type: number;
  readonly name: string;
}

export interface ApiCase {
  readonly name: string;
  readonly apiKey: number;
  readonly version: number;
  readonly body: () => unknown;
  /** The error a principal without ACLs gets somewhere in the response. */
  readonly error?: number;
  /** Instead of `error`: what a refusal looks like when it is not an error code. */
  readonly refused?: (response: unknown) => void;
  /** Instead of "no authorization error": what the allowed answer shows. */
  readonly allowed?: (response: unknown) => void;
  /** Exactly the ACLs the row needs. */
  readonly grants: readonly Grant[];
  /** Run once as a super user before the case. */
  readonly setUp?: (send: Send) => Promise<void>;
}

const T = 'acl-t';
const G = 'acl-g';
const TX = 'acl-tx';
const LISTED_TX = 'acl-tx-listed';
const ZERO_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

const topic = (op: number, name = T): Grant => ({ op, type: RT.TOPIC, name });
const group = (op: number, name = G): Grant => ({ op, type: RT.GROUP, name });
const txn = (op: number, name = TX): Grant => ({ op, type: RT.TRANSACTIONAL_ID, name });
const cluster = (op: number): Grant => ({ op, type: RT.CLUSTER, name: CLUSTER_NAME });

/** A group with committed offsets (so it exists and ListGroups shows it). */
async function commitAsAdmin(send: Send): Promise<void> {
  await send(ApiKey.OffsetCommit, 8, {
    groupId: G,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: T,
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 0,
            committedLeaderEpoch: -1,
            commitTimestamp: -1,
            committedMetadata: null,
          },
        ],
      },
    ],
  });
}

const fetchBody = () => ({
  clusterId: null,
  replicaId: -1,
  replicaState: { replicaId: -1, replicaEpoch: -1 },
  maxWaitMs: 0,
  minBytes: 0,
  maxBytes: 1_000_000,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [
    {
      topic: T,
      topicId: ZERO_ID,
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: -1,
          fetchOffset: 0,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: 100_000,
          replicaDirectoryId: ZERO_ID,
        },
      ],
    },
  ],
  forgottenTopicsData: [],
  rackId: '',
});

const groupCases: ApiCase[] = [
  {
    name: 'OffsetCommit',
    apiKey: ApiKey.OffsetCommit,
    version: 8,
    body: () => ({
      groupId: G,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [
        {
          name: T,
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 0,
              committedLeaderEpoch: -1,
              commitTimestamp: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.READ), topic(Op.READ)],
  },
  {
    name: 'OffsetFetch',
    apiKey: ApiKey.OffsetFetch,
    version: 7,
    body: () => ({
      groupId: G,
      topics: [{ name: T, partitionIndexes: [0] }],
      groups: [],
      requireStable: false,
    }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.DESCRIBE), topic(Op.DESCRIBE)],
  },
  {
    name: 'FindCoordinator (group)',
    apiKey: ApiKey.FindCoordinator,
    version: 3,
    body: () => ({ key: G, keyType: 0, coordinatorKeys: [] }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.DESCRIBE)],
  },
  {
    name: 'FindCoordinator (transaction)',
    apiKey: ApiKey.FindCoordinator,
    version: 4,
    body: () => ({ key: '', keyType: 1, coordinatorKeys: [TX] }),
    error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    grants: [txn(Op.DESCRIBE)],
  },
  {
    name: 'JoinGroup',
    apiKey: ApiKey.JoinGroup,
    version: 5,
    body: () => ({
      groupId: G,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.READ)],
  },
  {
    name: 'Heartbeat',
    apiKey: ApiKey.Heartbeat,
    version: 3,
    body: () => ({ groupId: G, generationId: 1, memberId: 'm', groupInstanceId: null }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.READ)],
  },
  {
    name: 'LeaveGroup',
    apiKey: ApiKey.LeaveGroup,
    version: 3,
    body: () => ({
      groupId: G,
      memberId: '',
      members: [{ memberId: 'm', groupInstanceId: null, reason: null }],
    }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.READ)],
  },
  {
    name: 'SyncGroup',
    apiKey: ApiKey.SyncGroup,
    version: 3,
    body: () => ({
      groupId: G,
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.READ)],
  },
  {
    name: 'DescribeGroups',
    apiKey: ApiKey.DescribeGroups,
    version: 5,
    body: () => ({ groups: [G], includeAuthorizedOperations: true }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.DESCRIBE)],
  },
  {
    name: 'ListGroups',
    apiKey: ApiKey.ListGroups,
    version: 4,
    setUp: commitAsAdmin,
    body: () => ({ statesFilter: [], typesFilter: [] }),
    refused: (r) => assert.ok(!groupIds(r).includes(G), 'the group is not listed'),
    allowed: (r) => assert.ok(groupIds(r).includes(G), 'the group is listed'),
    grants: [group(Op.DESCRIBE)],
  },
  {
    name: 'DeleteGroups',
    apiKey: ApiKey.DeleteGroups,
    version: 2,
    body: () => ({ groupsNames: ['acl-g-gone'] }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.DELETE, 'acl-g-gone')],
  },
  {
    name: 'OffsetDelete',
    apiKey: ApiKey.OffsetDelete,
    version: 0,
    body: () => ({ groupId: G, topics: [{ name: T, partitions: [{ partitionIndex: 0 }] }] }),
    error: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    grants: [group(Op.DELETE), topic(Op.READ)],
  },
];

function groupIds(r: unknown): string[] {
  return (r as { groups: { groupId: string }[] }).groups.map((g) => g.groupId);
}

const topicCases: ApiCase[] = [
  {
    name: 'Produce',
    apiKey: ApiKey.Produce,
    version: 9,
    body: () => ({
      transactionalId: null,
      acks: 1,
      timeoutMs: 10_000,
      topicData: [{ name: T, partitionData: [{ index: 0, records: Buffer.alloc(0) }] }],
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.WRITE)],
  },
  {
    name: 'Fetch',
    apiKey: ApiKey.Fetch,
    version: 12,
    body: fetchBody,
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.READ)],
  },
  {
    name: 'ListOffsets',
    apiKey: ApiKey.ListOffsets,
    version: 7,
    body: () => ({
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 0,
      topics: [
        {
          name: T,
          partitions: [
            { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 },
          ],
        },
      ],
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.DESCRIBE)],
  },
  {
    name: 'Metadata',
    apiKey: ApiKey.Metadata,
    version: 12,
    body: () => ({
      topics: [{ topicId: ZERO_ID, name: T }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: true,
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    allowed: (r) => {
      const t = (r as { topics: { errorCode: number; topicAuthorizedOperations: number }[] })
        .topics[0];
      assert.equal(t?.errorCode, 0);
      assert.equal(t?.topicAuthorizedOperations, 1 << Op.DESCRIBE);
    },
    grants: [topic(Op.DESCRIBE)],
  },
  {
    name: 'Metadata (auto-creation)',
    apiKey: ApiKey.Metadata,
    version: 12,
    body: () => ({
      topics: [{ topicId: ZERO_ID, name: 'acl-auto' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    allowed: (r) =>
      assert.equal((r as { topics: { errorCode: number }[] }).topics[0]?.errorCode, 0),
    grants: [topic(Op.DESCRIBE, 'acl-auto'), topic(Op.CREATE, 'acl-auto')],
  },
  {
    name: 'CreateTopics',
    apiKey: ApiKey.CreateTopics,
    version: 5,
    body: () => ({
      topics: [
        {
          name: 'acl-new',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        },
      ],
      timeoutMs: 10_000,
      validateOnly: true,
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.CREATE, 'acl-new'), topic(Op.DESCRIBE_CONFIGS, 'acl-new')],
  },
  {
    name: 'DeleteTopics',
    apiKey: ApiKey.DeleteTopics,
    version: 5,
    setUp: async (send) => {
      await send(ApiKey.CreateTopics, 5, {
        topics: [
          { name: 'acl-del', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        ],
        timeoutMs: 10_000,
        validateOnly: false,
      });
    },
    body: () => ({ topics: [], topicNames: ['acl-del'], timeoutMs: 10_000 }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.DELETE, 'acl-del')],
  },
  {
    name: 'DeleteRecords',
    apiKey: ApiKey.DeleteRecords,
    version: 1,
    body: () => ({
      topics: [{ name: T, partitions: [{ partitionIndex: 0, offset: 0 }] }],
      timeoutMs: 10_000,
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.DELETE)],
  },
  {
    name: 'OffsetForLeaderEpoch',
    apiKey: ApiKey.OffsetForLeaderEpoch,
    version: 3,
    body: () => ({
      replicaId: -1,
      topics: [
        { topic: T, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
      ],
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.DESCRIBE)],
  },
  {
    name: 'CreatePartitions',
    apiKey: ApiKey.CreatePartitions,
    version: 2,
    body: () => ({
      topics: [{ name: T, count: 2, assignments: null }],
      timeoutMs: 10_000,
      validateOnly: true,
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.ALTER)],
  },
  {
    name: 'DescribeProducers',
    apiKey: ApiKey.DescribeProducers,
    version: 0,
    body: () => ({ topics: [{ name: T, partitionIndexes: [0] }] }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.READ)],
  },
  {
    name: 'DescribeTopicPartitions',
    apiKey: ApiKey.DescribeTopicPartitions,
    version: 0,
    body: () => ({ topics: [{ name: T }], responsePartitionLimit: 100, cursor: null }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.DESCRIBE)],
  },
];

const txnCases: ApiCase[] = [
  {
    name: 'InitProducerId (transactional)',
    apiKey: ApiKey.InitProducerId,
    version: 1,
    body: () => ({
      transactionalId: TX,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    }),
    error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    grants: [txn(Op.WRITE)],
  },
  {
    name: 'InitProducerId (idempotent)',
    apiKey: ApiKey.InitProducerId,
    version: 1,
    body: () => ({
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    // WRITE on some topic will do (KIP-679).
    grants: [topic(Op.WRITE)],
  },
  {
    name: 'AddPartitionsToTxn',
    apiKey: ApiKey.AddPartitionsToTxn,
    version: 3,
    body: () => ({
      transactions: [],
      v3AndBelowTransactionalId: TX,
      v3AndBelowProducerId: 1,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: T, partitions: [0] }],
    }),
    error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    grants: [txn(Op.WRITE), topic(Op.WRITE)],
  },
  {
    name: 'AddPartitionsToTxn (v4, from brokers)',
    apiKey: ApiKey.AddPartitionsToTxn,
    version: 4,
    body: () => ({
      transactions: [
        {
          transactionalId: TX,
          producerId: 1,
          producerEpoch: 0,
          verifyOnly: true,
          topics: [{ name: T, partitions: [0] }],
        },
      ],
      v3AndBelowTransactionalId: '',
      v3AndBelowProducerId: 0,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [],
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.CLUSTER_ACTION)],
  },
  {
    name: 'AddOffsetsToTxn',
    apiKey: ApiKey.AddOffsetsToTxn,
    version: 1,
    body: () => ({ transactionalId: TX, producerId: 1, producerEpoch: 0, groupId: G }),
    error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    grants: [txn(Op.WRITE), group(Op.READ)],
  },
  {
    name: 'EndTxn',
    apiKey: ApiKey.EndTxn,
    version: 1,
    body: () => ({ transactionalId: TX, producerId: 1, producerEpoch: 0, committed: false }),
    error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    grants: [txn(Op.WRITE)],
  },
  {
    name: 'WriteTxnMarkers',
    apiKey: ApiKey.WriteTxnMarkers,
    version: 1,
    body: () => ({
      markers: [
        {
          producerId: 999_999,
          producerEpoch: 0,
          transactionResult: false,
          topics: [{ name: 'acl-markers', partitionIndexes: [0] }],
          coordinatorEpoch: 0,
        },
      ],
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.CLUSTER_ACTION)],
  },
  {
    name: 'TxnOffsetCommit',
    apiKey: ApiKey.TxnOffsetCommit,
    version: 3,
    body: () => ({
      transactionalId: TX,
      groupId: G,
      producerId: 1,
      producerEpoch: 0,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: T,
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 0,
              committedLeaderEpoch: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    }),
    error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    grants: [txn(Op.WRITE), group(Op.READ), topic(Op.READ)],
  },
  {
    name: 'DescribeTransactions',
    apiKey: ApiKey.DescribeTransactions,
    version: 0,
    body: () => ({ transactionalIds: [TX] }),
    error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    grants: [txn(Op.DESCRIBE)],
  },
  {
    name: 'ListTransactions',
    apiKey: ApiKey.ListTransactions,
    version: 0,
    setUp: async (send) => {
      await send(ApiKey.InitProducerId, 1, {
        transactionalId: LISTED_TX,
        transactionTimeoutMs: 60_000,
        producerId: -1,
        producerEpoch: -1,
      });
    },
    body: () => ({ stateFilters: [], producerIdFilters: [], durationFilter: -1 }),
    refused: (r) => assert.ok(!transactionalIds(r).includes(LISTED_TX)),
    allowed: (r) => assert.ok(transactionalIds(r).includes(LISTED_TX)),
    grants: [txn(Op.DESCRIBE, LISTED_TX)],
  },
];

function transactionalIds(r: unknown): string[] {
  return (r as { transactionStates: { transactionalId: string }[] }).transactionStates.map(
    (t) => t.transactionalId,
  );
}

const ANY_ACL = {
  resourceTypeFilter: RT.ANY,
  resourceNameFilter: 'acl-z',
  patternTypeFilter: 1,
  principalFilter: null,
  hostFilter: null,
  operation: Op.ANY,
  permissionType: 1,
};

const clusterCases: ApiCase[] = [
  {
    name: 'DescribeAcls',
    apiKey: ApiKey.DescribeAcls,
    version: 2,
    body: () => ANY_ACL,
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.DESCRIBE)],
  },
  {
    name: 'CreateAcls',
    apiKey: ApiKey.CreateAcls,
    version: 2,
    body: () => ({
      creations: [
        {
          resourceType: RT.TOPIC,
          resourceName: 'acl-z',
          resourcePatternType: 3,
          principal: 'User:nobody',
          host: '*',
          operation: Op.READ,
          permissionType: 3,
        },
      ],
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER)],
  },
  {
    name: 'DeleteAcls',
    apiKey: ApiKey.DeleteAcls,
    version: 2,
    body: () => ({ filters: [ANY_ACL] }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER)],
  },
  {
    name: 'DescribeConfigs',
    apiKey: ApiKey.DescribeConfigs,
    version: 4,
    body: () => ({
      resources: [
        { resourceType: 2, resourceName: T, configurationKeys: null },
        { resourceType: 4, resourceName: '0', configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    }),
    refused: (r) =>
      assert.deepEqual(collectErrorCodes(r), [
        ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      ]),
    grants: [topic(Op.DESCRIBE_CONFIGS), cluster(Op.DESCRIBE_CONFIGS)],
  },
  {
    name: 'AlterConfigs',
    apiKey: ApiKey.AlterConfigs,
    version: 1,
    body: () => ({
      resources: [
        { resourceType: 2, resourceName: T, configs: [{ name: 'retention.ms', value: '100000' }] },
      ],
      validateOnly: true,
    }),
    error: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    grants: [topic(Op.ALTER_CONFIGS)],
  },
  {
    name: 'IncrementalAlterConfigs',
    apiKey: ApiKey.IncrementalAlterConfigs,
    version: 1,
    body: () => ({
      resources: [
        {
          resourceType: 4,
          resourceName: '0',
          configs: [{ name: 'log.cleaner.threads', configOperation: 0, value: '1' }],
        },
      ],
      validateOnly: true,
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER_CONFIGS)],
  },
  {
    // Allowed, the move is refused for another reason: no such log dir.
    name: 'AlterReplicaLogDirs',
    apiKey: ApiKey.AlterReplicaLogDirs,
    version: 2,
    body: () => ({ dirs: [{ path: '/no/such/log/dir', topics: [{ name: T, partitions: [0] }] }] }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER)],
  },
  {
    name: 'DescribeLogDirs',
    apiKey: ApiKey.DescribeLogDirs,
    version: 4,
    body: () => ({ topics: null }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.DESCRIBE)],
  },
  {
    name: 'ElectLeaders',
    apiKey: ApiKey.ElectLeaders,
    version: 2,
    body: () => ({
      electionType: 0,
      topicPartitions: [{ topic: T, partitions: [0] }],
      timeoutMs: 10_000,
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER)],
  },
  {
    name: 'AlterPartitionReassignments',
    apiKey: ApiKey.AlterPartitionReassignments,
    version: 0,
    body: () => ({
      timeoutMs: 10_000,
      topics: [{ name: T, partitions: [{ partitionIndex: 0, replicas: null }] }],
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER)],
  },
  {
    name: 'ListPartitionReassignments',
    apiKey: ApiKey.ListPartitionReassignments,
    version: 0,
    body: () => ({ timeoutMs: 10_000, topics: null }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.DESCRIBE)],
  },
  {
    name: 'DescribeUserScramCredentials',
    apiKey: ApiKey.DescribeUserScramCredentials,
    version: 0,
    body: () => ({ users: null }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.DESCRIBE)],
  },
  {
    name: 'AlterUserScramCredentials',
    apiKey: ApiKey.AlterUserScramCredentials,
    version: 0,
    body: () => ({ deletions: [{ name: 'nobody', mechanism: 1 }], upsertions: [] }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER)],
  },
  {
    name: 'DescribeClientQuotas',
    apiKey: ApiKey.DescribeClientQuotas,
    version: 1,
    body: () => ({ components: [], strict: false }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.DESCRIBE_CONFIGS)],
  },
  {
    name: 'AlterClientQuotas',
    apiKey: ApiKey.AlterClientQuotas,
    version: 1,
    body: () => ({
      entries: [
        {
          entity: [{ entityType: 'user', entityName: 'acl-quota-user' }],
          ops: [{ key: 'producer_byte_rate', value: 1_000_000, remove: false }],
        },
      ],
      validateOnly: true,
    }),
    error: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    grants: [cluster(Op.ALTER_CONFIGS)],
  },
  {
    name: 'DescribeCluster',
    apiKey: ApiKey.DescribeCluster,
    version: 1,
    body: () => ({ includeClusterAuthorizedOperations: true, endpointType: 1 }),
    refused: (r) =>
      assert.equal((r as { clusterAuthorizedOperations: number }).clusterAuthorizedOperations, 0),
    allowed: (r) =>
      assert.equal(
        (r as { clusterAuthorizedOperations: number }).clusterAuthorizedOperations,
        1 << Op.DESCRIBE,
      ),
    grants: [cluster(Op.DESCRIBE)],
  },
];

export const API_CASES: readonly ApiCase[] = [
  ...topicCases,
  ...groupCases,
  ...txnCases,
  ...clusterCases,
];
