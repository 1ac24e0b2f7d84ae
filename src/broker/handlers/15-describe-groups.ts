/**
 * DescribeGroups (key 15), versions 0-5.
 *
 * Behaviour: per group its state, protocol type, selected protocol and members. Member metadata
 * and assignments are filled only for a Stable group (Kafka's rule; empty otherwise). A group
 * that does not exist is answered with no error and state Dead.
 * Version notes: v3+ may ask for authorized operations: with no authorizer configured every
 * group operation is allowed (READ, DELETE, DESCRIBE); otherwise the field keeps Kafka's
 * "not requested" value; v4+ answer group.instance.id; v5+ are flexible.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeGroupsRequest } from '../../protocol/messages/describe-groups-request.ts';
import type { DescribeGroupsResponse } from '../../protocol/messages/describe-groups-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** Bits of Kafka's AclOperation codes READ (3), DELETE (6), DESCRIBE (8). */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export function describeGroupsHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
    apiKey: ApiKey.DescribeGroups,
    minVersion: 0,
    maxVersion: 5,
    handle: (req, ctx) => handleDescribeGroups(b, req, ctx),
  });
}

function handleDescribeGroups(
  b: BrokerContext,
  req: DescribeGroupsRequest,
  ctx: RequestContext,
): DescribeGroupsResponse {
  const withOps = ctx.apiVersion >= 3 && req.includeAuthorizedOperations;
  const groups = req.groups.map((groupId) => {
    if (!ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
      return {
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        groupId,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    }
    const d = b.groups.describeGroup(groupId);
    return {
      errorCode: d.errorCode,
      groupId,
      groupState: d.state,
      protocolType: d.protocolType,
      protocolData: d.protocol,
      members: d.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.metadata,
        memberAssignment: m.assignment,
      })),
      authorizedOperations: !withOps
        ? AUTHORIZED_OPERATIONS_OMITTED
        : ctx.auth.enabled
          ? ctx.auth.operations(ResourceType.GROUP, groupId)
          : GROUP_OPERATIONS,
    };
  });
  return { throttleTimeMs: 0, groups };
}
