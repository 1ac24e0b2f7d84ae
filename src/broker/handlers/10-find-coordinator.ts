/**
 * FindCoordinator (key 10), versions 0-6.
 *
 * Behaviour: key type 0 (group) answers this broker, the only one, on the listener the request
 * came in on (every group's `__consumer_offsets` partition is led here). Key type 1
 * (transaction) answers this broker too, although there is no transaction coordinator yet:
 * InitProducerId then refuses the transactional id with TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
 * which clients report at once instead of retrying FindCoordinator until they time out.
 * Any other key type is INVALID_REQUEST. COORDINATOR_NOT_AVAILABLE too while the group
 * coordinator is not running.
 * Version notes: v0 has no key type (groups only); v0-v3 carry one key and answer at the top
 * level (v1+ with an error message); v4+ carry a batch of keys and answer one coordinator each.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode, errorName } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { FindCoordinatorRequest } from '../../protocol/messages/find-coordinator-request.ts';
import type { FindCoordinatorResponse } from '../../protocol/messages/find-coordinator-response.ts';
import { TRANSACTION_STATE_TOPIC } from '../../txn/coordinator.ts';
import { type BrokerContext, brokerEndpoint } from '../context.ts';
import { ensureGroupTopic, GROUP_METADATA_TOPIC } from '../group-wiring.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type Coordinator = FindCoordinatorResponse['coordinators'][number];

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export function findCoordinatorHandler(b: BrokerContext): Handler {
  return defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
    apiKey: ApiKey.FindCoordinator,
    minVersion: 0,
    maxVersion: 6,
    handle: (req, ctx) => handleFindCoordinator(b, req, ctx),
  });
}

function handleFindCoordinator(
  b: BrokerContext,
  req: FindCoordinatorRequest,
  ctx: RequestContext,
): FindCoordinatorResponse {
  if (ctx.apiVersion >= 4) {
    const coordinators = req.coordinatorKeys.map((key) => locate(b, key, req.keyType, ctx));
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      nodeId: 0,
      host: '',
      port: 0,
      coordinators,
    };
  }
  const c = locate(b, req.key, ctx.apiVersion === 0 ? KEY_TYPE_GROUP : req.keyType, ctx);
  return {
    throttleTimeMs: 0,
    errorCode: c.errorCode,
    errorMessage: c.errorMessage,
    nodeId: c.nodeId,
    host: c.host,
    port: c.port,
    coordinators: [],
  };
}

function locate(b: BrokerContext, key: string, keyType: number, ctx: RequestContext): Coordinator {
  const fail = (errorCode: number, message: string): Coordinator => ({
    key,
    nodeId: -1,
    host: '',
    port: -1,
    errorCode,
    errorMessage: message,
  });
  if (keyType === KEY_TYPE_GROUP || keyType === KEY_TYPE_TRANSACTION) {
    const group = keyType === KEY_TYPE_GROUP;
    const type = group ? ResourceType.GROUP : ResourceType.TRANSACTIONAL_ID;
    if (!ctx.auth.allowed(AclOperation.DESCRIBE, type, key)) {
      const code = group
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      return fail(code, errorName(code));
    }
  }
  if (keyType === KEY_TYPE_TRANSACTION) {
    // The id's coordinator leads its partition of __transaction_state, created by the first
    // request that needs it (Kafka's rule).
    b.txn.ensureTopic();
    const partition = b.txn.coordinator.partitionFor(key);
    const leader = b.metadata.partition(TRANSACTION_STATE_TOPIC, partition)?.leader;
    if (leader === undefined || leader < 0) {
      return fail(
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorName(ErrorCode.COORDINATOR_NOT_AVAILABLE),
      );
    }
    return at(b, ctx, key, leader, fail);
  }
  if (keyType !== KEY_TYPE_GROUP) {
    return fail(ErrorCode.INVALID_REQUEST, `unknown coordinator key type ${keyType}`);
  }
  if (!b.groups.isActive) {
    return fail(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorName(ErrorCode.COORDINATOR_NOT_AVAILABLE),
    );
  }
  // The group's coordinator is the leader of its __consumer_offsets partition (in a cluster the
  // topic is created by the first request that needs it).
  if (b.cluster !== undefined) ensureGroupTopic(b.controller, b.config, b.log);
  const leader = b.metadata.partition(GROUP_METADATA_TOPIC, b.groups.partitionFor(key))?.leader;
  if (leader === undefined || leader < 0) {
    return fail(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorName(ErrorCode.COORDINATOR_NOT_AVAILABLE),
    );
  }
  return at(b, ctx, key, leader, fail);
}

function at(
  b: BrokerContext,
  ctx: RequestContext,
  key: string,
  brokerId: number,
  fail: (errorCode: number, message: string) => Coordinator,
): Coordinator {
  const e = brokerEndpoint(b, ctx.connection, brokerId);
  if (e === undefined) {
    return fail(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorName(ErrorCode.COORDINATOR_NOT_AVAILABLE),
    );
  }
  return { key, nodeId: brokerId, host: e.host, port: e.port, errorCode: 0, errorMessage: null };
}
