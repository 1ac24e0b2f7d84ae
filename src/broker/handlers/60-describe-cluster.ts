/**
 * DescribeCluster (key 60), versions 0-1.
 *
 * Behaviour: the cluster id, the controller (this broker: a single node is its own controller)
 * and the brokers, each with the endpoint advertised on the listener the request came in on (as
 * Metadata answers), rack null. cluster_authorized_operations is filled when asked: with no
 * authorizer every cluster operation is allowed, as in Kafka; otherwise it is the schema default
 * (INT32_MIN).
 * Version notes: v1 carries endpoint_type: 1 (brokers) is answered; 2 (controllers) answers
 * MISMATCHED_ENDPOINT_TYPE, since this is a broker endpoint, and any other value
 * UNSUPPORTED_ENDPOINT_TYPE, with Kafka's messages (AuthHelper.computeDescribeClusterResponse).
 * v0 has no endpoint_type and always means brokers.
 */
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeClusterRequest } from '../../protocol/messages/describe-cluster-request.ts';
import type { DescribeClusterResponse } from '../../protocol/messages/describe-cluster-response.ts';
import { type BrokerContext, brokersFor } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { CLUSTER_OPERATIONS_ALL } from './03-metadata.ts';

const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;
const NOT_REQUESTED = -2147483648;

export function describeClusterHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    handle: (req, ctx) => handleDescribeCluster(b, req, ctx),
  });
}

function handleDescribeCluster(
  b: BrokerContext,
  req: DescribeClusterRequest,
  ctx: RequestContext,
): DescribeClusterResponse {
  const type = ctx.apiVersion >= 1 ? req.endpointType : ENDPOINT_BROKERS;
  if (type !== ENDPOINT_BROKERS) {
    const mismatched = type === ENDPOINT_CONTROLLERS;
    return {
      throttleTimeMs: 0,
      errorCode: mismatched
        ? ErrorCode.MISMATCHED_ENDPOINT_TYPE
        : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: mismatched
        ? 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER'
        : `Unsupported endpoint type ${type}`,
      endpointType: ENDPOINT_BROKERS,
      clusterId: '',
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: NOT_REQUESTED,
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: ENDPOINT_BROKERS,
    clusterId: b.metadata.clusterId,
    controllerId: b.metadata.controllerId,
    brokers: brokersFor(b, ctx.connection).map((x) => ({
      brokerId: x.nodeId,
      host: x.host,
      port: x.port,
      rack: x.rack,
    })),
    clusterAuthorizedOperations: !req.includeClusterAuthorizedOperations
      ? NOT_REQUESTED
      : !ctx.auth.enabled
        ? CLUSTER_OPERATIONS_ALL
        : ctx.auth.cluster(AclOperation.DESCRIBE)
          ? ctx.auth.operations(ResourceType.CLUSTER, CLUSTER_NAME)
          : 0,
  };
}
