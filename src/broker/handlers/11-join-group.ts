/**
 * JoinGroup (key 11), versions 0-9.
 *
 * Behaviour: the member joins (or rejoins) the group through the coordinator's state machine;
 * the answer waits until the rebalance's join phase completes (all members rejoined, the
 * rebalance timeout, or the initial rebalance delay for a new group). The leader gets every
 * member's metadata for the selected protocol. Session timeouts outside
 * group.min/max.session.timeout.ms are INVALID_SESSION_TIMEOUT; a full group is
 * GROUP_MAX_SIZE_REACHED; protocols the group does not share are INCONSISTENT_GROUP_PROTOCOL.
 * Version notes: v0 has no rebalance timeout (the session timeout stands in, as in Kafka);
 * v4+ dynamic members without an id get MEMBER_ID_REQUIRED with an id to rejoin with; v5+
 * carry group.instance.id (static membership); v7+ answer the protocol type and a nullable
 * protocol name (before v7 an empty name); v9+ may tell a rejoining static leader to skip the
 * assignment.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { JoinGroupRequest } from '../../protocol/messages/join-group-request.ts';
import type { JoinGroupResponse } from '../../protocol/messages/join-group-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

export function joinGroupHandler(b: BrokerContext): Handler {
  return defineHandler<JoinGroupRequest, JoinGroupResponse>({
    apiKey: ApiKey.JoinGroup,
    minVersion: 0,
    maxVersion: 9,
    handle: (req, ctx) => handleJoinGroup(b, req, ctx),
  });
}

async function handleJoinGroup(
  b: BrokerContext,
  req: JoinGroupRequest,
  ctx: RequestContext,
): Promise<JoinGroupResponse> {
  const version = ctx.apiVersion;
  if (!ctx.auth.allowed(AclOperation.READ, ResourceType.GROUP, req.groupId)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      generationId: -1,
      protocolType: null,
      protocolName: version >= 7 ? null : '',
      leader: '',
      skipAssignment: false,
      memberId: '',
      members: [],
    };
  }
  const groupInstanceId = version >= 5 ? req.groupInstanceId : null;
  const r = await b.groups.joinGroup({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId,
    requireKnownMemberId: version >= 4 && groupInstanceId === null,
    supportSkippingAssignment: version >= 9,
    clientId: ctx.clientId ?? '',
    clientHost: `/${ctx.connection.remoteAddress}`,
    rebalanceTimeoutMs: version === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
    sessionTimeoutMs: req.sessionTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
    reason: version >= 8 ? req.reason : null,
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ''),
    leader: r.leaderId,
    skipAssignment: version >= 9 && r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata,
    })),
  };
}
