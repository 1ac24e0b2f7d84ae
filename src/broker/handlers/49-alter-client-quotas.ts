/**
 * AlterClientQuotas (key 49), versions 0-1: sets and removes quota configs of users, client ids,
 * (user, client id) pairs, their defaults and IP addresses (ZkAdminManager.alterClientQuotas,
 * Kafka 3.9). Each entry is checked and written on its own, with its own error: an invalid
 * entity, an unknown key, a non-integral byte rate or a bound of 0 or less is INVALID_REQUEST
 * with Kafka's message; controller_mutation_rate is refused (not enforced here). validate_only
 * checks without writing. Writes go to the metadata store (a user's quotas beside its SCRAM
 * credentials) and reach every broker's quota managers without a restart.
 */

import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { AlterClientQuotasRequest } from '../../protocol/messages/alter-client-quotas-request.ts';
import type { AlterClientQuotasResponse } from '../../protocol/messages/alter-client-quotas-response.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import { applyQuotaOps, entityPathOf, QuotaRequestError } from '../../security/quota-entities.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

type Entry = AlterClientQuotasRequest['entries'][number];

export function alterClientQuotasHandler(b: BrokerContext): Handler {
  return defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>({
    apiKey: ApiKey.AlterClientQuotas,
    minVersion: 0,
    maxVersion: 1,
    handle: async (req, ctx) => {
      // Kafka: ALTER_CONFIGS on the cluster, or every entry is refused.
      const allowed = ctx.auth.cluster(AclOperation.ALTER_CONFIGS);
      const entries: AlterClientQuotasResponse['entries'][number][] = [];
      for (const entry of req.entries) {
        const entity = entry.entity.map((e) => ({
          entityType: e.entityType,
          entityName: e.entityName,
        }));
        if (!allowed) {
          entries.push({
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: 'Cluster authorization failed.',
            entity,
          });
          continue;
        }
        try {
          await alterOne(b, entry, req.validateOnly);
          entries.push({ errorCode: 0, errorMessage: null, entity });
        } catch (err) {
          const known = err instanceof QuotaRequestError;
          if (!known) b.log(`AlterClientQuotas failed: ${String(err)}`);
          entries.push({
            errorCode: known ? err.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR,
            errorMessage: err instanceof Error ? err.message : String(err),
            entity,
          });
        }
      }
      return { throttleTimeMs: 0, entries };
    },
  });
}

async function alterOne(b: BrokerContext, entry: Entry, validateOnly: boolean): Promise<void> {
  const { path, keys } = entityPathOf(entry.entity);
  const current = (await b.controller.quotaConfigs()).get(path) ?? new Map<string, string>();
  const next = applyQuotaOps(current, entry.ops, keys);
  if (!validateOnly) await b.controller.setQuotaConfigs(path, next);
}
