/**
 * DescribeUserScramCredentials (key 50), version 0: the SCRAM mechanisms and iteration counts of
 * users (never salts or keys). A null or empty list describes every user with credentials; a
 * named user without any is RESOURCE_NOT_FOUND, a name given twice DUPLICATE_RESOURCE, as Kafka.
 */
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeUserScramCredentialsRequest } from '../../protocol/messages/describe-user-scram-credentials-request.ts';
import type { DescribeUserScramCredentialsResponse } from '../../protocol/messages/describe-user-scram-credentials-response.ts';
import { isScramMechanism, parseCredential, scramMechanismType } from '../../security/scram.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

type Result = DescribeUserScramCredentialsResponse['results'][number];

export function describeUserScramCredentialsHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
    apiKey: ApiKey.DescribeUserScramCredentials,
    minVersion: 0,
    maxVersion: 0,
    handle: async (req, ctx) => {
      if (!ctx.auth.cluster(AclOperation.DESCRIBE)) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: 'Cluster authorization failed.',
          results: [],
        };
      }
      const requested = req.users ?? [];
      const all = requested.length === 0;
      const names = all ? await b.controller.users() : requested.map((u) => u.name);
      const counts = new Map<string, number>();
      for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
      const results: Result[] = [];
      for (const user of [...new Set(names)]) {
        if ((counts.get(user) ?? 0) > 1) {
          results.push(
            fail(
              user,
              ErrorCode.DUPLICATE_RESOURCE,
              `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
            ),
          );
          continue;
        }
        const configs = await b.controller.userConfigs(user);
        const credentialInfos = [...configs]
          .filter(([k]) => isScramMechanism(k))
          .flatMap(([k, v]) => {
            const c = parseCredential(v);
            return c === undefined || !isScramMechanism(k)
              ? []
              : [{ mechanism: scramMechanismType(k), iterations: c.iterations }];
          })
          .sort((a, b) => a.mechanism - b.mechanism);
        if (credentialInfos.length === 0) {
          if (!all) {
            results.push(
              fail(
                user,
                ErrorCode.RESOURCE_NOT_FOUND,
                `Attempt to describe a user credential that does not exist: ${user}`,
              ),
            );
          }
          continue;
        }
        results.push({ user, errorCode: 0, errorMessage: null, credentialInfos });
      }
      return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results };
    },
  });
}

function fail(user: string, errorCode: number, errorMessage: string): Result {
  return { user, errorCode, errorMessage, credentialInfos: [] };
}
