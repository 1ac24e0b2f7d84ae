/**
 * DeleteGroups (key 42), versions 0-2.
 *
 * Behaviour: deletes each empty group with its committed offsets (tombstones on
 * `__consumer_offsets`). A group with members answers NON_EMPTY_GROUP; one that does not exist
 * GROUP_ID_NOT_FOUND. Each distinct group id is answered once, in request order.
 * Needs DELETE on each group (else GROUP_AUTHORIZATION_FAILED for it).
 * Version notes: v2+ are flexible.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DeleteGroupsRequest } from '../../protocol/messages/delete-groups-request.ts';
import type { DeleteGroupsResponse } from '../../protocol/messages/delete-groups-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function deleteGroupsHandler(b: BrokerContext): Handler {
  return defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
    apiKey: ApiKey.DeleteGroups,
    minVersion: 0,
    maxVersion: 2,
    handle: async (req, ctx) => {
      const ids = [...new Set(req.groupsNames)];
      const allowed = ctx.auth.allowedNames(AclOperation.DELETE, ResourceType.GROUP, ids);
      const results = await b.groups.deleteGroups(ids.filter((id) => allowed.has(id)));
      for (const id of ids) {
        if (!allowed.has(id)) results.set(id, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      }
      return {
        throttleTimeMs: 0,
        results: ids.map((groupId) => ({
          groupId,
          errorCode: results.get(groupId) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        })),
      };
    },
  });
}
