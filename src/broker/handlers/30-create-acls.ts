/**
 * CreateAcls (key 30), versions 0-3 (Kafka's AclApis.handleCreateAcls and AclAuthorizer.createAcls).
 * Needs ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED for every creation); with no
 * authorizer configured, SECURITY_DISABLED. Each creation is checked (known codes, LITERAL or
 * PREFIXED, a CLUSTER resource named kafka-cluster, a non-empty name without '/', a
 * Type:name principal: else INVALID_REQUEST) and added to its resource pattern's ACLs in the
 * store (an ACL already there is left as it is); the broker's authorizer applies it at once, the
 * other brokers of a cluster through the change notification.
 * Version notes: v0 has no pattern type (LITERAL); v2+ are flexible.
 */
import {
  type AclBinding,
  AclOperation,
  bindingProblem,
  patternKey,
  sameEntry,
} from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { CreateAclsRequest } from '../../protocol/messages/create-acls-request.ts';
import type { CreateAclsResponse } from '../../protocol/messages/create-acls-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

type Result = CreateAclsResponse['results'][number];

export function createAclsHandler(b: BrokerContext): Handler {
  return defineHandler<CreateAclsRequest, CreateAclsResponse>({
    apiKey: ApiKey.CreateAcls,
    minVersion: 0,
    maxVersion: 3,
    handle: async (req, ctx) => {
      const all = (errorCode: number, errorMessage: string): CreateAclsResponse => ({
        throttleTimeMs: 0,
        results: req.creations.map(() => ({ errorCode, errorMessage })),
      });
      if (!ctx.auth.cluster(AclOperation.ALTER)) {
        return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
      }
      const authorizer = b.authorizer;
      if (authorizer === null) {
        return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
      }
      const results: Result[] = req.creations.map(() => ({ errorCode: 0, errorMessage: null }));
      // The valid bindings by resource pattern: one store update per pattern.
      const byPattern = new Map<string, { binding: AclBinding; index: number }[]>();
      req.creations.forEach((c, index) => {
        const binding: AclBinding = {
          pattern: {
            resourceType: c.resourceType,
            name: c.resourceName,
            patternType: c.resourcePatternType,
          },
          entry: {
            principal: c.principal,
            host: c.host,
            operation: c.operation,
            permission: c.permissionType,
          },
        };
        const problem = bindingProblem(binding);
        if (problem !== undefined) {
          results[index] = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem };
          return;
        }
        const key = patternKey(binding.pattern);
        const list = byPattern.get(key) ?? [];
        list.push({ binding, index });
        byPattern.set(key, list);
      });
      for (const list of byPattern.values()) {
        const pattern = (list[0] as { binding: AclBinding }).binding.pattern;
        try {
          const written = await b.controller.updateAcls(pattern, (current) => {
            const next = [...current];
            for (const { binding } of list) {
              if (!next.some((e) => sameEntry(e, binding.entry))) next.push(binding.entry);
            }
            return next;
          });
          authorizer.setAcls(pattern, written);
        } catch (err) {
          for (const { index } of list) {
            results[index] = {
              errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
              errorMessage: `Failed to update ACLs: ${String(err)}`,
            };
          }
        }
      }
      return { throttleTimeMs: 0, results };
    },
  });
}
