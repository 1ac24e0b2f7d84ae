/**
 * Client quota entities as DescribeClientQuotas and AlterClientQuotas name them (entity types
 * "user", "client-id", "ip"; a null name is the default) and as the store keeps them (Kafka's
 * entity paths: users/<u>, users/<u>/clients/<c>, clients/<c>, ips/<ip>, sanitized names,
 * <default>). The checks are ZkAdminManager's (Kafka 3.9): an invalid entity, key or value is
 * INVALID_REQUEST with Kafka's message; a filter on another entity type UNSUPPORTED_VERSION.
 */
import { isIP } from 'node:net';
import {
  CONTROLLER_MUTATION_RATE,
  DEFAULT_ENTITY_NAME,
  desanitizeEntityName,
  IP_QUOTA_KEYS,
  isQuotaConfigKey,
  type QuotaConfigKey,
  sanitizeEntityName,
  USER_CLIENT_QUOTA_KEYS,
} from '../config/quota-configs.ts';
import { ErrorCode } from '../protocol/error-codes.ts';

export const ENTITY_USER = 'user';
export const ENTITY_CLIENT_ID = 'client-id';
export const ENTITY_IP = 'ip';

export interface EntityPart {
  readonly entityType: string;
  /** null: the default entity of that type. */
  readonly entityName: string | null;
}

/** A Kafka error for one entry (or the whole describe), with its message. */
export class QuotaRequestError extends Error {
  readonly errorCode: number;
  constructor(errorCode: number, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

const invalid = (message: string) => new QuotaRequestError(ErrorCode.INVALID_REQUEST, message);

const pathName = (name: string | null) =>
  name === null ? DEFAULT_ENTITY_NAME : sanitizeEntityName(name);

/**
 * The store path of an entity to alter, and the keys it may carry (parseAndSanitizeQuotaEntity
 * and the entity combinations of alterClientQuotas).
 */
export function entityPathOf(parts: readonly EntityPart[]): {
  path: string;
  keys: ReadonlyMap<string, QuotaConfigKey>;
} {
  if (parts.length === 0) throw invalid('Invalid empty client quota entity');
  // Kafka reads the parts into a map: a repeated type keeps its last name.
  const byType = new Map<string, string | null>();
  for (const p of parts) {
    if (
      p.entityType !== ENTITY_USER &&
      p.entityType !== ENTITY_CLIENT_ID &&
      p.entityType !== ENTITY_IP
    ) {
      throw invalid(`Unhandled client quota entity type: ${p.entityType}`);
    }
    if (p.entityName === '') throw invalid(`Empty ${p.entityType} not supported`);
    byType.set(p.entityType, p.entityName);
  }
  const has = (t: string) => byType.has(t);
  const name = (t: string) => byType.get(t) ?? null;
  if (has(ENTITY_IP)) {
    if (has(ENTITY_USER) || has(ENTITY_CLIENT_ID)) {
      throw invalid(
        'Invalid quota entity combination, IP entity should not be used with user/client ID entity.',
      );
    }
    const ip = name(ENTITY_IP);
    if (ip !== null && isIP(ip) === 0) throw invalid(`${ip} is not a valid IP or resolvable host.`);
    return { path: `ips/${pathName(ip)}`, keys: IP_QUOTA_KEYS };
  }
  if (has(ENTITY_USER) && has(ENTITY_CLIENT_ID)) {
    return {
      path: `users/${pathName(name(ENTITY_USER))}/clients/${pathName(name(ENTITY_CLIENT_ID))}`,
      keys: USER_CLIENT_QUOTA_KEYS,
    };
  }
  if (has(ENTITY_USER))
    return { path: `users/${pathName(name(ENTITY_USER))}`, keys: USER_CLIENT_QUOTA_KEYS };
  return { path: `clients/${pathName(name(ENTITY_CLIENT_ID))}`, keys: USER_CLIENT_QUOTA_KEYS };
}

export interface QuotaOp {
  readonly key: string;
  readonly value: number;
  readonly remove: boolean;
}

/**
 * The entity's quota configs after `ops` (Kafka applies them in order): a removal drops the key
 * whatever it is; a set must name a key of the entity, with an integral value for a long or int
 * key, and (Tributary's rule: a bound of 0 or less cannot be enforced) above 0.
 */
export function applyQuotaOps(
  current: ReadonlyMap<string, string>,
  ops: readonly QuotaOp[],
  keys: ReadonlyMap<string, QuotaConfigKey>,
): Map<string, string> {
  const next = new Map(current);
  for (const op of ops) {
    if (op.remove) {
      next.delete(op.key);
      continue;
    }
    if (op.key === CONTROLLER_MUTATION_RATE) {
      throw invalid(
        `${op.key} is not supported: Tributary does not enforce controller mutation quotas (KIP-599)`,
      );
    }
    const key = keys.get(op.key);
    if (key === undefined) throw invalid(`Invalid configuration key ${op.key}`);
    if (!Number.isFinite(op.value) || op.value <= 0) {
      throw invalid(`Configuration ${op.key} must be above 0, not ${op.value}`);
    }
    if (key.type === 'double') {
      next.set(op.key, String(op.value));
      continue;
    }
    const epsilon = 1e-6;
    const integral = Math.trunc(op.value + epsilon);
    const max = key.type === 'int' ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER;
    if (Math.abs(integral - op.value) > epsilon || integral > max) {
      throw invalid(
        `Configuration ${op.key} must be a ${key.type === 'int' ? 'INT' : 'LONG'} value`,
      );
    }
    next.set(op.key, String(integral));
  }
  return next;
}

/** An entity path back to its parts (null name: default); undefined for a path of no entity. */
export function entityPartsOf(path: string): EntityPart[] | undefined {
  const parts = path.split('/');
  const name = (p: string) => (p === DEFAULT_ENTITY_NAME ? null : desanitizeEntityName(p));
  if (parts[0] === 'users' && parts.length === 2) {
    return [{ entityType: ENTITY_USER, entityName: name(parts[1] as string) }];
  }
  if (parts[0] === 'users' && parts.length === 4 && parts[2] === 'clients') {
    return [
      { entityType: ENTITY_USER, entityName: name(parts[1] as string) },
      { entityType: ENTITY_CLIENT_ID, entityName: name(parts[3] as string) },
    ];
  }
  if (parts[0] === 'clients' && parts.length === 2) {
    return [{ entityType: ENTITY_CLIENT_ID, entityName: name(parts[1] as string) }];
  }
  if (parts[0] === 'ips' && parts.length === 2) {
    return [{ entityType: ENTITY_IP, entityName: name(parts[1] as string) }];
  }
  return undefined;
}

export const MATCH_EXACT = 0;
export const MATCH_DEFAULT = 1;
export const MATCH_SPECIFIED = 2;

export interface FilterComponent {
  readonly entityType: string;
  readonly matchType: number;
  readonly match: string | null;
}

/** What a component asks of a name: undefined any specified name, null the default, else exact. */
type Want = string | null | undefined;

function wantOf(c: FilterComponent): Want {
  if (c.matchType === MATCH_EXACT) {
    if (c.match === null) throw invalid(`Exact match of ${c.entityType} needs a name`);
    return c.match;
  }
  if (c.matchType === MATCH_DEFAULT) return null;
  if (c.matchType === MATCH_SPECIFIED) return undefined;
  throw invalid(`Unexpected match type: ${c.matchType}`);
}

/**
 * The entities of `all` (entity path -> configs) that a DescribeClientQuotas filter selects,
 * with their quota values (ZkAdminManager.describeClientQuotas): each component must match its
 * entity type's name; a type without a component matches an entity without that type, and,
 * unless strict, any.
 */
export function describeQuotas(
  all: ReadonlyMap<string, ReadonlyMap<string, string>>,
  components: readonly FilterComponent[],
  strict: boolean,
): { entity: EntityPart[]; values: { key: string; value: number }[] }[] {
  const wants = new Map<string, Want>();
  for (const c of components) {
    if (c.entityType === '') throw invalid('Unexpected empty filter component entity type');
    if (
      c.entityType !== ENTITY_USER &&
      c.entityType !== ENTITY_CLIENT_ID &&
      c.entityType !== ENTITY_IP
    ) {
      throw new QuotaRequestError(
        ErrorCode.UNSUPPORTED_VERSION,
        `Custom entity type '${c.entityType}' not supported`,
      );
    }
    if (wants.has(c.entityType)) {
      const what = c.entityType === ENTITY_CLIENT_ID ? 'client' : c.entityType;
      throw invalid(`Duplicate ${what} filter component entity type`);
    }
    wants.set(c.entityType, wantOf(c));
  }
  if (wants.has(ENTITY_IP) && (wants.has(ENTITY_USER) || wants.has(ENTITY_CLIENT_ID))) {
    throw invalid(
      'Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.',
    );
  }
  const matches = (type: string, name: string | null | undefined): boolean => {
    if (!wants.has(type)) return name === undefined || !strict;
    if (name === undefined) return false;
    const want = wants.get(type);
    return want === undefined || want === name;
  };
  const out: { entity: EntityPart[]; values: { key: string; value: number }[] }[] = [];
  for (const [path, configs] of all) {
    const entity = entityPartsOf(path);
    if (entity === undefined) continue;
    const nameOf = (t: string) => {
      const p = entity.find((e) => e.entityType === t);
      return p === undefined ? undefined : p.entityName;
    };
    const isIp = nameOf(ENTITY_IP) !== undefined;
    // IP entities answer only filters without user or client-id components, and vice versa.
    if (isIp && (wants.has(ENTITY_USER) || wants.has(ENTITY_CLIENT_ID))) continue;
    if (!isIp && wants.has(ENTITY_IP)) continue;
    if (
      isIp
        ? !matches(ENTITY_IP, nameOf(ENTITY_IP))
        : !matches(ENTITY_USER, nameOf(ENTITY_USER)) ||
          !matches(ENTITY_CLIENT_ID, nameOf(ENTITY_CLIENT_ID))
    ) {
      continue;
    }
    const values = [...configs]
      .filter(([k]) => isQuotaConfigKey(k) && (isIp ? IP_QUOTA_KEYS.has(k) : !IP_QUOTA_KEYS.has(k)))
      .map(([key, v]) => ({ key, value: Number(v) }))
      .filter((v) => Number.isFinite(v.value));
    if (values.length > 0) out.push({ entity, values });
  }
  return out;
}
