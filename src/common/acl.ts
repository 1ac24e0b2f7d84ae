/**
 * Kafka's ACL model as data: the wire codes of operations, resource types, pattern types and
 * permissions (org.apache.kafka.common.acl / .resource), their names as Kafka prints and stores
 * them, an ACL binding (a resource pattern and an access control entry), and the filters of
 * DescribeAcls and DeleteAcls with Kafka's matching rules (ResourcePatternFilter,
 * AccessControlEntryFilter). Shared by the authorizer, the stores, the admin client and the CLI.
 */

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;
export type AclOperationCode = (typeof AclOperation)[keyof typeof AclOperation];

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;
export type ResourceTypeCode = (typeof ResourceType)[keyof typeof ResourceType];

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export type PatternTypeCode = (typeof PatternType)[keyof typeof PatternType];

export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;
export type AclPermissionCode = (typeof AclPermission)[keyof typeof AclPermission];

/** The one name of the CLUSTER resource. */
export const CLUSTER_NAME = 'kafka-cluster';
/** A literal resource name, principal name or host that matches every one. */
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

/** Operation names as Kafka stores them in ZooKeeper ("Read", "DescribeConfigs", ...). */
const operationNames: Record<number, string> = {
  2: 'All',
  3: 'Read',
  4: 'Write',
  5: 'Create',
  6: 'Delete',
  7: 'Alter',
  8: 'Describe',
  9: 'ClusterAction',
  10: 'DescribeConfigs',
  11: 'AlterConfigs',
  12: 'IdempotentWrite',
  13: 'CreateTokens',
  14: 'DescribeTokens',
};

/** Resource type names as in Kafka's ZooKeeper paths ("Topic", "TransactionalId", ...). */
const resourceTypeNames: Record<number, string> = {
  2: 'Topic',
  3: 'Group',
  4: 'Cluster',
  5: 'TransactionalId',
  6: 'DelegationToken',
  7: 'User',
};

const permissionNames: Record<number, string> = { 2: 'Deny', 3: 'Allow' };
const patternTypeNames: Record<number, string> = {
  1: 'ANY',
  2: 'MATCH',
  3: 'LITERAL',
  4: 'PREFIXED',
};

function nameOf(table: Record<number, string>, code: number): string {
  return table[code] ?? 'Unknown';
}

/** Kafka's parse: case-insensitive, underscores ignored ("describe_configs" = "DescribeConfigs"). */
function codeOf(table: Record<number, string>, name: string): number | undefined {
  const wanted = name.replaceAll('_', '').toLowerCase();
  for (const [code, n] of Object.entries(table)) {
    if (n.toLowerCase() === wanted) return Number(code);
  }
  return undefined;
}

export const operationName = (code: number): string => nameOf(operationNames, code);
export const resourceTypeName = (code: number): string => nameOf(resourceTypeNames, code);
export const permissionName = (code: number): string => nameOf(permissionNames, code);
export const patternTypeName = (code: number): string => nameOf(patternTypeNames, code);
export const parseOperation = (name: string): number | undefined =>
  name.toLowerCase() === 'any' ? AclOperation.ANY : codeOf(operationNames, name);
export const parseResourceType = (name: string): number | undefined =>
  name.toLowerCase() === 'any' ? ResourceType.ANY : codeOf(resourceTypeNames, name);
export const parsePermission = (name: string): number | undefined =>
  name.toLowerCase() === 'any' ? AclPermission.ANY : codeOf(permissionNames, name);
export const parsePatternType = (name: string): number | undefined =>
  codeOf(patternTypeNames, name);

/** Operations each resource type supports (Kafka's AclEntry.supportedOperations). */
export const SUPPORTED_OPERATIONS: ReadonlyMap<number, readonly number[]> = new Map([
  [
    ResourceType.TOPIC,
    [
      AclOperation.READ,
      AclOperation.WRITE,
      AclOperation.CREATE,
      AclOperation.DESCRIBE,
      AclOperation.DELETE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
    ],
  ],
  [ResourceType.GROUP, [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE]],
  [
    ResourceType.CLUSTER,
    [
      AclOperation.CREATE,
      AclOperation.CLUSTER_ACTION,
      AclOperation.DESCRIBE_CONFIGS,
      AclOperation.ALTER_CONFIGS,
      AclOperation.IDEMPOTENT_WRITE,
      AclOperation.ALTER,
      AclOperation.DESCRIBE,
    ],
  ],
  [ResourceType.TRANSACTIONAL_ID, [AclOperation.DESCRIBE, AclOperation.WRITE]],
  [ResourceType.DELEGATION_TOKEN, [AclOperation.DESCRIBE]],
  [ResourceType.USER, [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS]],
]);

/** Java's enum name of a code ("TRANSACTIONAL_ID", "DESCRIBE_CONFIGS"), as Kafka's tools print. */
export function enumName(camel: string): string {
  return camel.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

export interface ResourcePattern {
  readonly resourceType: number;
  readonly name: string;
  readonly patternType: number;
}

export interface AccessControlEntry {
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

export interface AclBinding {
  readonly pattern: ResourcePattern;
  readonly entry: AccessControlEntry;
}

/** DescribeAcls / DeleteAcls: null fields and ANY codes match anything; MATCH as Kafka. */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly name: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/** Kafka's ResourcePatternFilter.matches. */
export function patternMatches(filter: AclBindingFilter, pattern: ResourcePattern): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== pattern.resourceType) {
    return false;
  }
  const ft = filter.patternType;
  if (ft !== PatternType.ANY && ft !== PatternType.MATCH && ft !== pattern.patternType)
    return false;
  if (filter.name === null) return true;
  if (ft === PatternType.ANY || ft === pattern.patternType) return filter.name === pattern.name;
  // MATCH: every pattern that would apply to a resource of that name.
  if (pattern.patternType === PatternType.LITERAL) {
    return filter.name === pattern.name || pattern.name === WILDCARD;
  }
  if (pattern.patternType === PatternType.PREFIXED) return filter.name.startsWith(pattern.name);
  return false;
}

/** Kafka's AccessControlEntryFilter.matches. */
export function entryMatches(filter: AclBindingFilter, entry: AccessControlEntry): boolean {
  if (filter.principal !== null && filter.principal !== entry.principal) return false;
  if (filter.host !== null && filter.host !== entry.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== entry.operation) return false;
  return filter.permission === AclPermission.ANY || filter.permission === entry.permission;
}

export function bindingMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  return patternMatches(filter, binding.pattern) && entryMatches(filter, binding.entry);
}

/**
 * Why a filter cannot be used: Kafka refuses filters with an UNKNOWN (or unheard-of) code with
 * INVALID_REQUEST; undefined when it is usable.
 */
export function filterProblem(filter: AclBindingFilter): string | undefined {
  const t = filter.resourceType;
  if (t !== ResourceType.ANY && (t < ResourceType.TOPIC || t > ResourceType.USER)) {
    return 'The resource type filter is unknown';
  }
  if (filter.patternType === PatternType.UNKNOWN || filter.patternType > PatternType.PREFIXED) {
    return 'The pattern type filter is unknown';
  }
  if (
    filter.operation === AclOperation.UNKNOWN ||
    filter.operation > AclOperation.DESCRIBE_TOKENS
  ) {
    return 'The operation filter is unknown';
  }
  if (filter.permission === AclPermission.UNKNOWN || filter.permission > AclPermission.ALLOW) {
    return 'The permission type filter is unknown';
  }
  return undefined;
}

/**
 * Why an ACL cannot be created (Kafka's CreateAcls checks and AuthorizerUtils.validateAclBinding),
 * or undefined: every field known and concrete, a "Type:name" principal, a CLUSTER resource named
 * kafka-cluster, a non-empty resource name.
 */
export function bindingProblem(binding: AclBinding): string | undefined {
  const { pattern, entry } = binding;
  const concreteType =
    pattern.resourceType >= ResourceType.TOPIC && pattern.resourceType <= ResourceType.USER;
  const concretePattern =
    pattern.patternType === PatternType.LITERAL || pattern.patternType === PatternType.PREFIXED;
  const concreteOp =
    entry.operation >= AclOperation.ALL && entry.operation <= AclOperation.DESCRIBE_TOKENS;
  const concretePermission =
    entry.permission === AclPermission.ALLOW || entry.permission === AclPermission.DENY;
  if (!concreteType || !concretePattern || !concreteOp || !concretePermission) {
    return 'ACL binding contains unknown elements';
  }
  if (pattern.resourceType === ResourceType.CLUSTER && pattern.name !== CLUSTER_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  }
  if (pattern.name === '') return 'Invalid empty resource name';
  if (pattern.name.includes('/')) {
    return `ACL binding contains invalid resource name: ${pattern.name}`;
  }
  const colon = entry.principal.indexOf(':');
  if (colon <= 0) {
    return `Invalid principal ${entry.principal}: expected the form <principalType>:<principalName>`;
  }
  return undefined;
}

/** A key that identifies a resource pattern (type, pattern type, name). */
export function patternKey(p: ResourcePattern): string {
  return `${p.resourceType}:${p.patternType}:${p.name}`;
}

export function sameEntry(a: AccessControlEntry, b: AccessControlEntry): boolean {
  return (
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permission === b.permission
  );
}
