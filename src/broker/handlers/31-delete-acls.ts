/**
 * DeleteAcls (key 31), versions 0-3 (Kafka's AclApis.handleDeleteAcls and
 * AclAuthorizer.deleteAcls). Needs ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED for
 * every filter); with no authorizer configured, SECURITY_DISABLED. Each filter removes the ACLs
 * it matches (pattern type MATCH and ANY as in DescribeAcls) and lists them; an ACL matched by
 * several filters is listed under the first. A filter with an unknown code is INVALID_REQUEST.
 * Version notes: v0 has no pattern type (LITERAL); v2+ are flexible.
 */
import {
  type AclBindingFilter,
  AclOperation,
  AclPermission,
  bindingMatches,
  filterProblem,
  PatternType,
  patternKey,
  patternMatches,
  type ResourcePattern,
  ResourceType,
} from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DeleteAclsRequest } from '../../protocol/messages/delete-acls-request.ts';
import type { DeleteAclsResponse } from '../../protocol/messages/delete-acls-response.ts';
import type { Authorizer } from '../../security/authorizer.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

type FilterResult = DeleteAclsResponse['filterResults'][number];
type Matching = FilterResult['matchingAcls'][number];

export function deleteAclsHandler(b: BrokerContext): Handler {
  return defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
    apiKey: ApiKey.DeleteAcls,
    minVersion: 0,
    maxVersion: 3,
    handle: (req, ctx) => {
      const all = (errorCode: number, errorMessage: string): DeleteAclsResponse => ({
        throttleTimeMs: 0,
        filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
      });
      if (!ctx.auth.cluster(AclOperation.ALTER)) {
        return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
      }
      const authorizer = b.authorizer;
      if (authorizer === null) {
        return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
      }
      return deleteAcls(b, authorizer, req);
    },
  });
}

const ANY_ACL: AclBindingFilter = {
  resourceType: ResourceType.ANY,
  name: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permission: AclPermission.ANY,
};

async function deleteAcls(
  b: BrokerContext,
  authorizer: Authorizer,
  req: DeleteAclsRequest,
): Promise<DeleteAclsResponse> {
  const filters: (AclBindingFilter | null)[] = req.filters.map((f) => ({
    resourceType: f.resourceTypeFilter,
    name: f.resourceNameFilter,
    patternType: f.patternTypeFilter,
    principal: f.principalFilter,
    host: f.hostFilter,
    operation: f.operation,
    permission: f.permissionType,
  }));
  const results: Result[] = filters.map(() => ({
    errorCode: 0,
    errorMessage: null,
    matchingAcls: [],
  }));
  filters.forEach((f, i) => {
    const problem = f === null ? undefined : filterProblem(f);
    if (problem === undefined) return;
    results[i] = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, matchingAcls: [] };
    filters[i] = null;
  });
  // Every pattern some filter may touch, from this broker's view of the ACLs.
  const patterns = new Map<string, ResourcePattern>();
  for (const { pattern } of authorizer.acls(ANY_ACL)) {
    if (filters.some((f) => f !== null && patternMatches(f, pattern))) {
      patterns.set(patternKey(pattern), pattern);
    }
  }
  for (const pattern of patterns.values()) {
    await deleteFromPattern(b, authorizer, pattern, filters, results);
  }
  return { throttleTimeMs: 0, filterResults: results };
}

type Result = { errorCode: number; errorMessage: string | null; matchingAcls: Matching[] };

async function deleteFromPattern(
  b: BrokerContext,
  authorizer: Authorizer,
  pattern: ResourcePattern,
  filters: readonly (AclBindingFilter | null)[],
  results: Result[],
): Promise<void> {
  const removed: { index: number; matching: Matching }[] = [];
  try {
    const written = await b.controller.updateAcls(pattern, (current) => {
      removed.length = 0;
      return current.filter((entry) => {
        const index = filters.findIndex((f) => f !== null && bindingMatches(f, { pattern, entry }));
        if (index < 0) return true;
        removed.push({
          index,
          matching: {
            errorCode: 0,
            errorMessage: null,
            resourceType: pattern.resourceType,
            resourceName: pattern.name,
            patternType: pattern.patternType,
            principal: entry.principal,
            host: entry.host,
            operation: entry.operation,
            permissionType: entry.permission,
          },
        });
        return false;
      });
    });
    authorizer.setAcls(pattern, written);
    for (const r of removed) results[r.index]?.matchingAcls.push(r.matching);
  } catch (err) {
    for (const r of removed) {
      results[r.index]?.matchingAcls.push({
        ...r.matching,
        errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
        errorMessage: `Failed to update ACLs: ${String(err)}`,
      });
    }
  }
}
