/**
 * ListGroups (key 16), versions 0-5.
 *
 * Behaviour: every group this coordinator knows (all of them: it leads every partition of
 * `__consumer_offsets`), with its protocol type. COORDINATOR_LOAD_IN_PROGRESS (with the groups
 * loaded so far) while `__consumer_offsets` is still being read.
 * With an authorizer: every group with DESCRIBE on the cluster, else those with DESCRIBE.
 * Version notes: v3+ are flexible; v4+ filter by state (case-insensitive; empty means all) and
 * answer each group's state; v5+ filter by type and answer it: every group here is "classic".
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ListGroupsRequest } from '../../protocol/messages/list-groups-request.ts';
import type { ListGroupsResponse } from '../../protocol/messages/list-groups-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function listGroupsHandler(b: BrokerContext): Handler {
  return defineHandler<ListGroupsRequest, ListGroupsResponse>({
    apiKey: ApiKey.ListGroups,
    minVersion: 0,
    maxVersion: 5,
    handle: (req, ctx) => {
      const states = ctx.apiVersion >= 4 ? req.statesFilter : [];
      const types = ctx.apiVersion >= 5 ? req.typesFilter : [];
      const r = b.groups.listGroups(states, types);
      // Kafka: DESCRIBE on the cluster lists every group, else those the principal may describe.
      const everyGroup = ctx.auth.cluster(AclOperation.DESCRIBE);
      const visible = everyGroup
        ? r.groups
        : r.groups.filter((g) =>
            ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId),
          );
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        groups: visible.map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: g.state,
          groupType: g.groupType,
        })),
      };
    },
  });
}
