/**
 * Client quotas (DescribeClientQuotas, AlterClientQuotas) and SCRAM users
 * (DescribeUserScramCredentials, AlterUserScramCredentials) over the Kafka protocol, as Kafka's
 * Admin client does them: a SCRAM password is salted and hashed here, so only the salted
 * credential crosses the wire.
 */
import { randomBytes } from 'node:crypto';
import type { KafkaClient } from '../client/client.ts';
import { checkErrorCode } from '../client/errors.ts';
import { type ScramMechanism, saltPassword } from '../common/scram-crypto.ts';
import type { AlterClientQuotasResponse } from '../protocol/messages/alter-client-quotas-response.ts';
import type { AlterUserScramCredentialsResponse } from '../protocol/messages/alter-user-scram-credentials-response.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { DescribeClientQuotasResponse } from '../protocol/messages/describe-client-quotas-response.ts';
import type { DescribeUserScramCredentialsResponse } from '../protocol/messages/describe-user-scram-credentials-response.ts';

/** One part of a quota entity: type user, client-id or ip; a null name is the default. */
export interface QuotaEntityPart {
  readonly entityType: string;
  readonly entityName: string | null;
}

/** A filter component: exact name, the default (name null with `defaultName`), or any name. */
export interface QuotaFilterPart {
  readonly entityType: string;
  /** undefined: any specified name; null: the default; else that exact name. */
  readonly name: string | null | undefined;
}

export interface QuotaDescription {
  readonly entity: readonly QuotaEntityPart[];
  readonly values: ReadonlyMap<string, number>;
}

export async function describeClientQuotas(
  client: KafkaClient,
  filter: readonly QuotaFilterPart[],
  strict: boolean,
): Promise<QuotaDescription[]> {
  const components = filter.map((f) => ({
    entityType: f.entityType,
    matchType: f.name === undefined ? 2 : f.name === null ? 1 : 0,
    match: f.name ?? null,
  }));
  const { response } = await client.retry(() =>
    client.request<DescribeClientQuotasResponse>(
      ApiKey.DescribeClientQuotas,
      () => ({ components, strict }),
      'any',
    ),
  );
  checkErrorCode(response.errorCode, 'client quotas', response.errorMessage);
  return (response.entries ?? []).map((e) => ({
    entity: e.entity.map((p) => ({ entityType: p.entityType, entityName: p.entityName })),
    values: new Map(e.values.map((v) => [v.key, v.value])),
  }));
}

export async function alterClientQuotas(
  client: KafkaClient,
  entity: readonly QuotaEntityPart[],
  changes: { readonly set: ReadonlyMap<string, number>; readonly remove: readonly string[] },
  validateOnly = false,
): Promise<void> {
  const ops = [
    ...[...changes.set].map(([key, value]) => ({ key, value, remove: false })),
    ...changes.remove.map((key) => ({ key, value: 0, remove: true })),
  ];
  const { response } = await client.retry(() =>
    client.request<AlterClientQuotasResponse>(
      ApiKey.AlterClientQuotas,
      () => ({ entries: [{ entity, ops }], validateOnly }),
      'any',
    ),
  );
  for (const e of response.entries) checkErrorCode(e.errorCode, 'client quota', e.errorMessage);
}

const MECHANISM_TYPES: Record<ScramMechanism, number> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };
const MECHANISM_NAMES = new Map<number, ScramMechanism>([
  [1, 'SCRAM-SHA-256'],
  [2, 'SCRAM-SHA-512'],
]);

export interface ScramUser {
  readonly user: string;
  readonly credentials: readonly { mechanism: string; iterations: number }[];
}

/** The SCRAM users (all of them when `users` is empty). */
export async function describeScramUsers(
  client: KafkaClient,
  users: readonly string[],
): Promise<ScramUser[]> {
  const { response } = await client.retry(() =>
    client.request<DescribeUserScramCredentialsResponse>(
      ApiKey.DescribeUserScramCredentials,
      () => ({ users: users.length === 0 ? null : users.map((name) => ({ name })) }),
      'any',
    ),
  );
  checkErrorCode(response.errorCode, 'SCRAM users', response.errorMessage);
  return response.results.map((r) => {
    checkErrorCode(r.errorCode, `user ${r.user}`, r.errorMessage);
    return {
      user: r.user,
      credentials: r.credentialInfos.map((c) => ({
        mechanism: MECHANISM_NAMES.get(c.mechanism) ?? `mechanism ${c.mechanism}`,
        iterations: c.iterations,
      })),
    };
  });
}

/** Adds or replaces a user's SCRAM credential, or deletes it (password null). */
export async function alterScramUser(
  client: KafkaClient,
  user: string,
  mechanism: ScramMechanism,
  password: string | null,
  iterations = 4096,
): Promise<void> {
  const type = MECHANISM_TYPES[mechanism];
  const salt = randomBytes(32);
  const upsertions =
    password === null
      ? []
      : [
          {
            name: user,
            mechanism: type,
            iterations,
            salt,
            saltedPassword: saltPassword(mechanism, password, salt, iterations),
          },
        ];
  const deletions = password === null ? [{ name: user, mechanism: type }] : [];
  const { response } = await client.retry(() =>
    client.request<AlterUserScramCredentialsResponse>(
      ApiKey.AlterUserScramCredentials,
      () => ({ deletions, upsertions }),
      'any',
    ),
  );
  for (const r of response.results) checkErrorCode(r.errorCode, `user ${r.user}`, r.errorMessage);
}
