/**
 * AlterUserScramCredentials (key 51), version 0: SCRAM credentials set (upsertions: the client
 * sends the salt and the salted password, never the password) or deleted, per user, kept in the
 * metadata store (/config/users/<user> in the ZooKeeper layout, with a /config/changes
 * notification; the local metadata file on a single node). Kafka's checks: a user named twice in
 * the request is DUPLICATE_RESOURCE, an empty name or an iteration count outside 4096-16384
 * UNACCEPTABLE_CREDENTIAL, an unknown mechanism UNSUPPORTED_SASL_MECHANISM, deleting a credential
 * that does not exist RESOURCE_NOT_FOUND; a failing user changes nothing of its own.
 */
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { AlterUserScramCredentialsRequest } from '../../protocol/messages/alter-user-scram-credentials-request.ts';
import type { AlterUserScramCredentialsResponse } from '../../protocol/messages/alter-user-scram-credentials-response.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import {
  credentialFromSaltedPassword,
  formatCredential,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MECHANISM_TYPES,
  SCRAM_MIN_ITERATIONS,
} from '../../security/scram.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

type Result = AlterUserScramCredentialsResponse['results'][number];

export function alterUserScramCredentialsHandler(b: BrokerContext): Handler {
  return defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
    apiKey: ApiKey.AlterUserScramCredentials,
    minVersion: 0,
    maxVersion: 0,
    handle: async (req, ctx) => {
      if (!ctx.auth.cluster(AclOperation.ALTER)) {
        // Kafka: ALTER on the cluster, else every user named answers the error.
        const users = [...new Set([...req.deletions, ...req.upsertions].map((c) => c.name))];
        return {
          throttleTimeMs: 0,
          results: users.map((user) => ({
            user,
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: 'Cluster authorization failed.',
          })),
        };
      }
      const counts = new Map<string, number>();
      for (const c of [...req.deletions, ...req.upsertions]) {
        const key = `${c.name}\u0000${c.mechanism}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const users = [...new Set([...req.deletions, ...req.upsertions].map((c) => c.name))];
      const results: Result[] = [];
      for (const user of users) {
        const deletions = req.deletions.filter((d) => d.name === user);
        const upsertions = req.upsertions.filter((u) => u.name === user);
        const refused = check(user, [...deletions, ...upsertions], counts, upsertions);
        if (refused !== null) {
          results.push(refused);
          continue;
        }
        const configs = await b.controller.userConfigs(user);
        const next = new Map(configs);
        let missing: string | null = null;
        for (const d of deletions) {
          const mechanism = SCRAM_MECHANISM_TYPES.get(d.mechanism) as string;
          if (!next.delete(mechanism)) missing = mechanism;
        }
        if (missing !== null) {
          results.push(
            fail(
              user,
              ErrorCode.RESOURCE_NOT_FOUND,
              `Attempt to delete a user credential that does not exist: ${user} ${missing}`,
            ),
          );
          continue;
        }
        for (const u of upsertions) {
          const mechanism = SCRAM_MECHANISM_TYPES.get(u.mechanism);
          if (mechanism === undefined) continue;
          const credential = credentialFromSaltedPassword(
            mechanism,
            u.saltedPassword,
            u.salt,
            u.iterations,
          );
          next.set(mechanism, formatCredential(credential));
        }
        await b.controller.setUserConfigs(user, next);
        results.push({ user, errorCode: 0, errorMessage: null });
      }
      return { throttleTimeMs: 0, results };
    },
  });
}

function check(
  user: string,
  changes: readonly { mechanism: number }[],
  counts: ReadonlyMap<string, number>,
  upsertions: readonly {
    mechanism: number;
    iterations: number;
    salt: Buffer;
    saltedPassword: Buffer;
  }[],
): Result | null {
  if (user === '')
    return fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
  for (const c of changes) {
    if ((counts.get(`${user}\u0000${c.mechanism}`) ?? 0) > 1) {
      return fail(
        user,
        ErrorCode.DUPLICATE_RESOURCE,
        'A user credential cannot be altered twice in the same request',
      );
    }
    if (!SCRAM_MECHANISM_TYPES.has(c.mechanism)) {
      return fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
    }
  }
  for (const u of upsertions) {
    if (u.iterations < SCRAM_MIN_ITERATIONS)
      return fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations');
    if (u.iterations > SCRAM_MAX_ITERATIONS)
      return fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations');
    if (u.salt.length === 0 || u.saltedPassword.length === 0) {
      return fail(
        user,
        ErrorCode.UNACCEPTABLE_CREDENTIAL,
        'Salt and salted password must not be empty',
      );
    }
  }
  return null;
}

function fail(user: string, errorCode: number, errorMessage: string): Result {
  return { user, errorCode, errorMessage };
}
