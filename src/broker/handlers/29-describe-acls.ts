/**
 * DescribeAcls (key 29), versions 0-3: the ACLs a filter matches, grouped by resource pattern
 * (Kafka's AclApis.handleDescribeAcls). Needs DESCRIBE on the cluster (else
 * CLUSTER_AUTHORIZATION_FAILED); with no authorizer configured, SECURITY_DISABLED. A filter with
 * an unknown code is INVALID_REQUEST. The filter's pattern type MATCH finds every pattern that
 * applies to the named resource (literal, the wildcard, prefixes of it).
 * Version notes: v0 has no pattern type (LITERAL); v2+ are flexible.
 */
import {
  type AclBindingFilter,
  AclOperation,
  filterProblem,
  patternKey,
} from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeAclsRequest } from '../../protocol/messages/describe-acls-request.ts';
import type { DescribeAclsResponse } from '../../protocol/messages/describe-acls-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

type Resource = DescribeAclsResponse['resources'][number];

export function describeAclsHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
    apiKey: ApiKey.DescribeAcls,
    minVersion: 0,
    maxVersion: 3,
    handle: (req, ctx) => {
      const fail = (errorCode: number, errorMessage: string): DescribeAclsResponse => ({
        throttleTimeMs: 0,
        errorCode,
        errorMessage,
        resources: [],
      });
      if (!ctx.auth.cluster(AclOperation.DESCRIBE)) {
        return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
      }
      const authorizer = b.authorizer;
      if (authorizer === null) {
        return fail(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
      }
      const filter: AclBindingFilter = {
        resourceType: req.resourceTypeFilter,
        name: req.resourceNameFilter,
        patternType: req.patternTypeFilter,
        principal: req.principalFilter,
        host: req.hostFilter,
        operation: req.operation,
        permission: req.permissionType,
      };
      const problem = filterProblem(filter);
      if (problem !== undefined) return fail(ErrorCode.INVALID_REQUEST, problem);
      const byPattern = new Map<string, Resource & { acls: Resource['acls'][number][] }>();
      for (const { pattern, entry } of authorizer.acls(filter)) {
        const key = patternKey(pattern);
        let r = byPattern.get(key);
        if (r === undefined) {
          r = {
            resourceType: pattern.resourceType,
            resourceName: pattern.name,
            patternType: pattern.patternType,
            acls: [],
          };
          byPattern.set(key, r);
        }
        r.acls.push({
          principal: entry.principal,
          host: entry.host,
          operation: entry.operation,
          permissionType: entry.permission,
        });
      }
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        resources: [...byPattern.values()],
      };
    },
  });
}
