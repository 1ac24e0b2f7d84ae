/**
 * Which ACL operations Kafka 3.9 checks for each API (KafkaApis.scala, AclApis.scala, one row per
 * API key), and the per-request helper handlers check them with.
 *
 * How forgetting is prevented: the dispatcher refuses to start with a handler that has no row
 * here (a unit test builds both handler registries against the table), and a handler can only
 * ask about an (operation, resource type) its row declares: asking anything else throws, so the
 * table and the code cannot drift apart silently. test/acls.test.ts sends every API of the table
 * as a principal without the ACL and as one with it, and checks the error code of each.
 *
 * With no authorizer configured every check is allowed and nothing is recorded.
 */
import {
  AclOperation,
  CLUSTER_NAME,
  operationName,
  ResourceType,
  resourceTypeName,
} from '../common/acl.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import { type Authorizer, type Requester, SUPPORTED_OPERATIONS } from '../security/authorizer.ts';

export interface AclCheck {
  readonly operation: number;
  readonly resourceType: number;
}

export interface ApiAuthorization {
  /** What Kafka checks; empty for APIs it serves to anyone (ApiVersions, SASL, ...). */
  readonly checks: readonly AclCheck[];
  /** How the result shows, in a few words (which error, per what). */
  readonly refusal: string;
}

const { TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID } = ResourceType;
const {
  READ,
  WRITE,
  CREATE,
  DELETE,
  ALTER,
  DESCRIBE,
  CLUSTER_ACTION,
  DESCRIBE_CONFIGS,
  ALTER_CONFIGS,
  IDEMPOTENT_WRITE,
} = AclOperation;

const c = (operation: number, resourceType: number): AclCheck => ({ operation, resourceType });
const row = (refusal: string, ...checks: AclCheck[]): ApiAuthorization => ({ checks, refusal });
const NONE = row('served to anyone');
const CLUSTER_ACTION_ONLY = row(
  'CLUSTER_AUTHORIZATION_FAILED (inter-broker request)',
  c(CLUSTER_ACTION, CLUSTER),
);

/** One row per API key the broker can serve. */
export const API_AUTHORIZATION: ReadonlyMap<number, ApiAuthorization> = new Map([
  [
    ApiKey.Produce,
    row(
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED for the whole request (transactional batches); TOPIC_AUTHORIZATION_FAILED per partition',
      c(WRITE, TRANSACTIONAL_ID),
      c(WRITE, TOPIC),
    ),
  ],
  [
    ApiKey.Fetch,
    row(
      'TOPIC_AUTHORIZATION_FAILED per partition; a follower fetch needs CLUSTER_ACTION (else every partition TOPIC_AUTHORIZATION_FAILED)',
      c(READ, TOPIC),
      c(CLUSTER_ACTION, CLUSTER),
    ),
  ],
  [ApiKey.ListOffsets, row('TOPIC_AUTHORIZATION_FAILED per partition', c(DESCRIBE, TOPIC))],
  [
    ApiKey.Metadata,
    row(
      'topics without DESCRIBE are left out of an all-topics answer, TOPIC_AUTHORIZATION_FAILED when named; auto-creation needs CREATE on the cluster or the topic',
      c(DESCRIBE, TOPIC),
      c(CREATE, CLUSTER),
      c(CREATE, TOPIC),
      c(DESCRIBE, CLUSTER),
    ),
  ],
  [ApiKey.LeaderAndIsr, CLUSTER_ACTION_ONLY],
  [ApiKey.StopReplica, CLUSTER_ACTION_ONLY],
  [ApiKey.UpdateMetadata, CLUSTER_ACTION_ONLY],
  [ApiKey.ControlledShutdown, CLUSTER_ACTION_ONLY],
  [
    ApiKey.OffsetCommit,
    row(
      'GROUP_AUTHORIZATION_FAILED for every partition; TOPIC_AUTHORIZATION_FAILED per partition',
      c(READ, GROUP),
      c(READ, TOPIC),
    ),
  ],
  [
    ApiKey.OffsetFetch,
    row(
      'GROUP_AUTHORIZATION_FAILED per group; TOPIC_AUTHORIZATION_FAILED per named partition, unauthorized topics left out of an all-partitions answer',
      c(DESCRIBE, GROUP),
      c(DESCRIBE, TOPIC),
    ),
  ],
  [
    ApiKey.FindCoordinator,
    row(
      'GROUP_AUTHORIZATION_FAILED or TRANSACTIONAL_ID_AUTHORIZATION_FAILED per key',
      c(DESCRIBE, GROUP),
      c(DESCRIBE, TRANSACTIONAL_ID),
    ),
  ],
  [ApiKey.JoinGroup, row('GROUP_AUTHORIZATION_FAILED', c(READ, GROUP))],
  [ApiKey.Heartbeat, row('GROUP_AUTHORIZATION_FAILED', c(READ, GROUP))],
  [ApiKey.LeaveGroup, row('GROUP_AUTHORIZATION_FAILED', c(READ, GROUP))],
  [ApiKey.SyncGroup, row('GROUP_AUTHORIZATION_FAILED', c(READ, GROUP))],
  [ApiKey.DescribeGroups, row('GROUP_AUTHORIZATION_FAILED per group', c(DESCRIBE, GROUP))],
  [
    ApiKey.ListGroups,
    row(
      'with DESCRIBE on the cluster every group, else only the groups with DESCRIBE',
      c(DESCRIBE, CLUSTER),
      c(DESCRIBE, GROUP),
    ),
  ],
  [ApiKey.SaslHandshake, NONE],
  [ApiKey.ApiVersions, NONE],
  [
    ApiKey.CreateTopics,
    row(
      'TOPIC_AUTHORIZATION_FAILED per topic (CREATE on the cluster or the topic); configs in the answer need DESCRIBE_CONFIGS',
      c(CREATE, CLUSTER),
      c(CREATE, TOPIC),
      c(DESCRIBE_CONFIGS, TOPIC),
    ),
  ],
  [
    ApiKey.DeleteTopics,
    row('TOPIC_AUTHORIZATION_FAILED per topic', c(DESCRIBE, TOPIC), c(DELETE, TOPIC)),
  ],
  [ApiKey.DeleteRecords, row('TOPIC_AUTHORIZATION_FAILED per partition', c(DELETE, TOPIC))],
  [
    ApiKey.InitProducerId,
    row(
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED (WRITE on the id); without an id CLUSTER_AUTHORIZATION_FAILED unless IDEMPOTENT_WRITE on the cluster or WRITE on some topic',
      c(WRITE, TRANSACTIONAL_ID),
      c(IDEMPOTENT_WRITE, CLUSTER),
      c(WRITE, TOPIC),
    ),
  ],
  [
    ApiKey.OffsetForLeaderEpoch,
    row(
      'TOPIC_AUTHORIZATION_FAILED per partition (CLUSTER_ACTION allows every topic)',
      c(CLUSTER_ACTION, CLUSTER),
      c(DESCRIBE, TOPIC),
    ),
  ],
  [
    ApiKey.AddPartitionsToTxn,
    row(
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition; TOPIC_AUTHORIZATION_FAILED per partition (others OPERATION_NOT_ATTEMPTED); v4+ batches from brokers need CLUSTER_ACTION',
      c(WRITE, TRANSACTIONAL_ID),
      c(WRITE, TOPIC),
      c(CLUSTER_ACTION, CLUSTER),
    ),
  ],
  [
    ApiKey.AddOffsetsToTxn,
    row(
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED, then GROUP_AUTHORIZATION_FAILED',
      c(WRITE, TRANSACTIONAL_ID),
      c(READ, GROUP),
    ),
  ],
  [ApiKey.EndTxn, row('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', c(WRITE, TRANSACTIONAL_ID))],
  [
    ApiKey.WriteTxnMarkers,
    row(
      'CLUSTER_AUTHORIZATION_FAILED for every partition (ALTER or CLUSTER_ACTION on the cluster)',
      c(ALTER, CLUSTER),
      c(CLUSTER_ACTION, CLUSTER),
    ),
  ],
  [
    ApiKey.TxnOffsetCommit,
    row(
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED or GROUP_AUTHORIZATION_FAILED for every partition; TOPIC_AUTHORIZATION_FAILED per partition',
      c(WRITE, TRANSACTIONAL_ID),
      c(READ, GROUP),
      c(READ, TOPIC),
    ),
  ],
  [ApiKey.DescribeAcls, row('CLUSTER_AUTHORIZATION_FAILED', c(DESCRIBE, CLUSTER))],
  [ApiKey.CreateAcls, row('CLUSTER_AUTHORIZATION_FAILED per creation', c(ALTER, CLUSTER))],
  [ApiKey.DeleteAcls, row('CLUSTER_AUTHORIZATION_FAILED per filter', c(ALTER, CLUSTER))],
  [
    ApiKey.DescribeConfigs,
    row(
      'per resource: CLUSTER_AUTHORIZATION_FAILED (broker, broker logger) or TOPIC_AUTHORIZATION_FAILED',
      c(DESCRIBE_CONFIGS, CLUSTER),
      c(DESCRIBE_CONFIGS, TOPIC),
    ),
  ],
  [
    ApiKey.AlterConfigs,
    row(
      'per resource: CLUSTER_AUTHORIZATION_FAILED (broker) or TOPIC_AUTHORIZATION_FAILED',
      c(ALTER_CONFIGS, CLUSTER),
      c(ALTER_CONFIGS, TOPIC),
    ),
  ],
  [
    ApiKey.AlterReplicaLogDirs,
    row('CLUSTER_AUTHORIZATION_FAILED for every partition', c(ALTER, CLUSTER)),
  ],
  [
    ApiKey.DescribeLogDirs,
    row('CLUSTER_AUTHORIZATION_FAILED and no results', c(DESCRIBE, CLUSTER)),
  ],
  [ApiKey.SaslAuthenticate, NONE],
  [ApiKey.CreatePartitions, row('TOPIC_AUTHORIZATION_FAILED per topic', c(ALTER, TOPIC))],
  [ApiKey.DeleteGroups, row('GROUP_AUTHORIZATION_FAILED per group', c(DELETE, GROUP))],
  [ApiKey.ElectLeaders, row('CLUSTER_AUTHORIZATION_FAILED for every partition', c(ALTER, CLUSTER))],
  [
    ApiKey.IncrementalAlterConfigs,
    row(
      'per resource: CLUSTER_AUTHORIZATION_FAILED (broker, broker logger) or TOPIC_AUTHORIZATION_FAILED',
      c(ALTER_CONFIGS, CLUSTER),
      c(ALTER_CONFIGS, TOPIC),
    ),
  ],
  [ApiKey.AlterPartitionReassignments, row('CLUSTER_AUTHORIZATION_FAILED', c(ALTER, CLUSTER))],
  [ApiKey.ListPartitionReassignments, row('CLUSTER_AUTHORIZATION_FAILED', c(DESCRIBE, CLUSTER))],
  [
    ApiKey.OffsetDelete,
    row(
      'GROUP_AUTHORIZATION_FAILED (DELETE on the group); TOPIC_AUTHORIZATION_FAILED per partition',
      c(DELETE, GROUP),
      c(READ, TOPIC),
    ),
  ],
  [ApiKey.DescribeUserScramCredentials, row('CLUSTER_AUTHORIZATION_FAILED', c(DESCRIBE, CLUSTER))],
  [
    ApiKey.AlterUserScramCredentials,
    row('CLUSTER_AUTHORIZATION_FAILED per user', c(ALTER, CLUSTER)),
  ],
  [
    ApiKey.DescribeCluster,
    row('served to anyone; authorized operations on request', c(DESCRIBE, CLUSTER)),
  ],
  [ApiKey.DescribeClientQuotas, row('CLUSTER_AUTHORIZATION_FAILED', c(DESCRIBE_CONFIGS, CLUSTER))],
  [
    ApiKey.AlterClientQuotas,
    row('CLUSTER_AUTHORIZATION_FAILED per entry', c(ALTER_CONFIGS, CLUSTER)),
  ],
  [ApiKey.DescribeProducers, row('TOPIC_AUTHORIZATION_FAILED per partition', c(READ, TOPIC))],
  [
    ApiKey.DescribeTransactions,
    row(
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED per id; topics without DESCRIBE left out',
      c(DESCRIBE, TRANSACTIONAL_ID),
      c(DESCRIBE, TOPIC),
    ),
  ],
  [
    ApiKey.ListTransactions,
    row('only the transactional ids with DESCRIBE', c(DESCRIBE, TRANSACTIONAL_ID)),
  ],
  [
    ApiKey.DescribeTopicPartitions,
    row(
      'TOPIC_AUTHORIZATION_FAILED when named, left out of an all-topics answer',
      c(DESCRIBE, TOPIC),
    ),
  ],
]);

/** "::ffff:10.0.0.1" is 10.0.0.1, as Java's getHostAddress gives an IPv4 client. */
export function clientHost(remoteAddress: string): string {
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')
    ? remoteAddress.slice(7)
    : remoteAddress;
}

/**
 * The authorization of one request: its principal and host against the authorizer, limited to
 * the checks its API's row declares.
 */
export class RequestAuthorization {
  readonly #authorizer: Authorizer | null;
  readonly #row: ApiAuthorization;
  readonly #apiKey: number;
  readonly requester: Requester;

  constructor(authorizer: Authorizer | null, apiKey: number, requester: Requester) {
    const r = API_AUTHORIZATION.get(apiKey);
    if (r === undefined) throw new Error(`API key ${apiKey} has no row in API_AUTHORIZATION`);
    this.#authorizer = authorizer;
    this.#row = r;
    this.#apiKey = apiKey;
    this.requester = requester;
  }

  /** True when an authorizer is configured. */
  get enabled(): boolean {
    return this.#authorizer !== null;
  }

  #declared(operation: number, resourceType: number): void {
    const ok = this.#row.checks.some(
      (x) => x.operation === operation && x.resourceType === resourceType,
    );
    if (!ok) {
      throw new Error(
        `API key ${this.#apiKey} checks ${operationName(operation)} on ${resourceTypeName(resourceType)}, which its API_AUTHORIZATION row does not declare`,
      );
    }
  }

  allowed(operation: number, resourceType: number, name: string): boolean {
    this.#declared(operation, resourceType);
    const a = this.#authorizer;
    return a === null || a.authorize(this.requester, operation, resourceType, name);
  }

  /** On the cluster resource (kafka-cluster). */
  cluster(operation: number): boolean {
    return this.allowed(operation, CLUSTER, CLUSTER_NAME);
  }

  /** The names among `names` that are allowed (each name asked once). */
  allowedNames(operation: number, resourceType: number, names: Iterable<string>): Set<string> {
    const out = new Set<string>();
    for (const n of new Set(names)) if (this.allowed(operation, resourceType, n)) out.add(n);
    return out;
  }

  /** Kafka's authorizeByResourceType: allowed on at least one resource of the type. */
  anyOfType(operation: number, resourceType: number): boolean {
    this.#declared(operation, resourceType);
    const a = this.#authorizer;
    return a === null || a.authorizeByResourceType(this.requester, operation, resourceType);
  }

  /**
   * The authorized-operations bit field of a resource (every supported operation when no
   * authorizer is configured, as Kafka's default).
   */
  operations(resourceType: number, name: string): number {
    const a = this.#authorizer;
    if (a === null) return allOperationsOf(resourceType);
    return a.authorizedOperations(this.requester, resourceType, name);
  }
}

function allOperationsOf(resourceType: number): number {
  let bits = 0;
  for (const op of SUPPORTED_OPERATIONS.get(resourceType) ?? []) bits |= 1 << op;
  return bits;
}

/** Config resource types of DescribeConfigs and AlterConfigs (not ACL resource types). */
const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
const CONFIG_BROKER_LOGGER = 8;

/**
 * Kafka's config checks: `operation` (DESCRIBE_CONFIGS or ALTER_CONFIGS) on the cluster for a
 * broker or broker-logger resource, on the topic for a topic. The refusal's error code, or 0
 * (other resource types are left to the handler, which refuses them itself).
 */
export function configResourceRefusal(
  auth: RequestAuthorization,
  operation: number,
  configResourceType: number,
  name: string,
): number {
  if (configResourceType === CONFIG_BROKER || configResourceType === CONFIG_BROKER_LOGGER) {
    return auth.cluster(operation) ? 0 : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  }
  if (configResourceType === CONFIG_TOPIC) {
    return auth.allowed(operation, TOPIC, name) ? 0 : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  return 0;
}
