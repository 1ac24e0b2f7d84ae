/**
 * DescribeClientQuotas (key 48), versions 0-1: the quota configs of the client quota entities a
 * filter selects (ZkAdminManager.describeClientQuotas, Kafka 3.9), read from the metadata store
 * (the local file, or /config/users, /config/clients and /config/ips in ZooKeeper). A bad filter
 * is answered with the error and its message at the top level: INVALID_REQUEST, or
 * UNSUPPORTED_VERSION for an entity type other than user, client-id and ip.
 */
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeClientQuotasRequest } from '../../protocol/messages/describe-client-quotas-request.ts';
import type { DescribeClientQuotasResponse } from '../../protocol/messages/describe-client-quotas-response.ts';
import { describeQuotas, QuotaRequestError } from '../../security/quota-entities.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function describeClientQuotasHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
    apiKey: ApiKey.DescribeClientQuotas,
    minVersion: 0,
    maxVersion: 1,
    handle: async (req, ctx) => {
      // Kafka: DESCRIBE_CONFIGS on the cluster, or the whole request is refused.
      if (!ctx.auth.cluster(AclOperation.DESCRIBE_CONFIGS)) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: 'Cluster authorization failed.',
          entries: null,
        };
      }
      try {
        const all = await b.controller.quotaConfigs();
        const entries = describeQuotas(all, req.components, req.strict);
        return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, entries };
      } catch (err) {
        if (!(err instanceof QuotaRequestError)) throw err;
        return {
          throttleTimeMs: 0,
          errorCode: err.errorCode,
          errorMessage: err.message,
          entries: null,
        };
      }
    },
  });
}
