/**
 * Heartbeat (key 12), versions 0-4.
 *
 * Behaviour: keeps the member's session alive. REBALANCE_IN_PROGRESS tells it to rejoin;
 * UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and FENCED_INSTANCE_ID as Kafka answers them. While the
 * coordinator is loading the answer is no error (Kafka answers blindly).
 * Version notes: v3+ carry group.instance.id; v4+ are flexible.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { HeartbeatRequest } from '../../protocol/messages/heartbeat-request.ts';
import type { HeartbeatResponse } from '../../protocol/messages/heartbeat-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function heartbeatHandler(b: BrokerContext): Handler {
  return defineHandler<HeartbeatRequest, HeartbeatResponse>({
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    handle: (req, ctx) => ({
      throttleTimeMs: 0,
      errorCode: !ctx.auth.allowed(AclOperation.READ, ResourceType.GROUP, req.groupId)
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : b.groups.heartbeat(
            req.groupId,
            req.memberId,
            ctx.apiVersion >= 3 ? req.groupInstanceId : null,
            req.generationId,
          ),
    }),
  });
}
