/**
 * Kafka's AclAuthorizer (3.9) over an in-memory copy of the ACLs. The copy is filled from the
 * metadata store at start and refreshed, one resource pattern at a time, when a change is
 * notified (the local store at once; ZooKeeper through /kafka-acl-changes and
 * /kafka-acl-extended-changes on every broker).
 *
 * A decision for (principal, host, operation, resource):
 * - a principal named in super.users is allowed everything;
 * - the ACLs that apply are those of the literal resource, of the literal wildcard `*` of its
 *   type, and of every prefixed pattern the name starts with;
 * - none apply: allowed only with allow.everyone.if.no.acl.found;
 * - a DENY for the principal (or User:*), the host (or *) and the operation (or ALL) wins;
 * - otherwise an ALLOW decides: for DESCRIBE an ALLOW of READ, WRITE, DELETE or ALTER will do,
 *   for DESCRIBE_CONFIGS one of ALTER_CONFIGS (Kafka's implied operations).
 * Hosts are compared as the client's IP address string, as Kafka compares getHostAddress.
 */
import {
  type AccessControlEntry,
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermission,
  bindingMatches,
  PatternType,
  patternKey,
  type ResourcePattern,
  SUPPORTED_OPERATIONS,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from '../common/acl.ts';

export { SUPPORTED_OPERATIONS };

export interface AuthorizerSettings {
  /** super.users, parsed: principals such as User:admin. */
  readonly superUsers: ReadonlySet<string>;
  readonly allowEveryoneIfNoAclFound: boolean;
}

/** super.users: principals separated by semicolons (Kafka's format), blanks dropped. */
export function parseSuperUsers(value: string): Set<string> {
  return new Set(
    value
      .split(';')
      .map((p) => p.trim())
      .filter((p) => p !== ''),
  );
}

/** The operations whose ALLOW also allows `operation`. */
function allowingOperations(operation: number): readonly number[] {
  if (operation === AclOperation.DESCRIBE) {
    return [
      AclOperation.DESCRIBE,
      AclOperation.READ,
      AclOperation.WRITE,
      AclOperation.DELETE,
      AclOperation.ALTER,
    ];
  }
  if (operation === AclOperation.DESCRIBE_CONFIGS) {
    return [AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS];
  }
  return [operation];
}

/** Who asks: the connection's principal and its client's address. */
export interface Requester {
  readonly principal: string;
  readonly host: string;
}

export class Authorizer {
  readonly #settings: AuthorizerSettings;
  /** ACL entries by resource pattern (patternKey). */
  readonly #acls = new Map<string, { pattern: ResourcePattern; entries: AccessControlEntry[] }>();
  /** The names of the prefixed patterns, by resource type (usually few: checked one by one). */
  readonly #prefixes = new Map<number, Set<string>>();

  constructor(settings: AuthorizerSettings) {
    this.#settings = settings;
  }

  /** Replaces the entries of one pattern (none: the pattern has no ACLs any more). */
  setAcls(pattern: ResourcePattern, entries: readonly AccessControlEntry[]): void {
    const key = patternKey(pattern);
    if (entries.length === 0) this.#acls.delete(key);
    else this.#acls.set(key, { pattern, entries: [...entries] });
    if (pattern.patternType === PatternType.PREFIXED)
      this.#indexPrefix(pattern, entries.length > 0);
  }

  #indexPrefix(pattern: ResourcePattern, present: boolean): void {
    let names = this.#prefixes.get(pattern.resourceType);
    if (names === undefined) {
      names = new Set();
      this.#prefixes.set(pattern.resourceType, names);
    }
    if (present) names.add(pattern.name);
    else names.delete(pattern.name);
  }

  /** Replaces every ACL. */
  load(bindings: readonly AclBinding[]): void {
    this.#acls.clear();
    this.#prefixes.clear();
    for (const b of bindings) {
      const key = patternKey(b.pattern);
      const at = this.#acls.get(key);
      if (at === undefined) this.#acls.set(key, { pattern: b.pattern, entries: [b.entry] });
      else at.entries.push(b.entry);
      if (b.pattern.patternType === PatternType.PREFIXED) this.#indexPrefix(b.pattern, true);
    }
  }

  /** Every ACL that the filter matches. */
  acls(filter: AclBindingFilter): AclBinding[] {
    const out: AclBinding[] = [];
    for (const { pattern, entries } of this.#acls.values()) {
      for (const entry of entries) {
        const binding = { pattern, entry };
        if (bindingMatches(filter, binding)) out.push(binding);
      }
    }
    return out;
  }

  isSuperUser(principal: string): boolean {
    return this.#settings.superUsers.has(principal);
  }

  authorize(who: Requester, operation: number, resourceType: number, name: string): boolean {
    if (this.isSuperUser(who.principal)) return true;
    const acls = this.#matching(resourceType, name);
    if (acls.length === 0) return this.#settings.allowEveryoneIfNoAclFound;
    if (acls.some((e) => applies(e, who, operation, AclPermission.DENY))) return false;
    return allowingOperations(operation).some((op) =>
      acls.some((e) => applies(e, who, op, AclPermission.ALLOW)),
    );
  }

  /**
   * Whether `operation` is allowed on at least one resource of the type (Kafka's
   * authorizeByResourceType, used by InitProducerId without a transactional id: WRITE on any
   * topic). An ALLOW counts unless a DENY of the same operation covers it: a literal `*`, the
   * same literal name, or a prefix of it.
   */
  authorizeByResourceType(who: Requester, operation: number, resourceType: number): boolean {
    if (this.isSuperUser(who.principal)) return true;
    const names = (permission: number, patternType: number): string[] => {
      const out: string[] = [];
      for (const { pattern, entries } of this.#acls.values()) {
        if (pattern.resourceType !== resourceType || pattern.patternType !== patternType) continue;
        // Kafka's resource index is by the exact operation (or ALL): no implied operations here.
        if (entries.some((e) => applies(e, who, operation, permission))) {
          out.push(pattern.name);
        }
      }
      return out;
    };
    const denyLiterals = names(AclPermission.DENY, PatternType.LITERAL);
    if (denyLiterals.includes(WILDCARD)) return false;
    if (this.#settings.allowEveryoneIfNoAclFound) return true;
    const denyPrefixes = names(AclPermission.DENY, PatternType.PREFIXED);
    const dominated = (name: string) => denyPrefixes.some((p) => name.startsWith(p));
    const allowPrefixes = names(AclPermission.ALLOW, PatternType.PREFIXED);
    const allowLiterals = names(AclPermission.ALLOW, PatternType.LITERAL);
    return (
      allowPrefixes.some((p) => !dominated(p)) ||
      allowLiterals.some((n) => n === WILDCARD || (!denyLiterals.includes(n) && !dominated(n)))
    );
  }

  /**
   * The operations allowed on a resource as Kafka's authorized-operations bit field (bit n set
   * for operation code n), over the operations its type supports.
   */
  authorizedOperations(who: Requester, resourceType: number, name: string): number {
    let bits = 0;
    for (const op of SUPPORTED_OPERATIONS.get(resourceType) ?? []) {
      if (this.authorize(who, op, resourceType, name)) bits |= 1 << op;
    }
    return bits;
  }

  #matching(resourceType: number, name: string): AccessControlEntry[] {
    const out: AccessControlEntry[] = [];
    const literal = (n: string) =>
      this.#acls.get(patternKey({ resourceType, name: n, patternType: PatternType.LITERAL }));
    out.push(...(literal(name)?.entries ?? []));
    if (name !== WILDCARD) out.push(...(literal(WILDCARD)?.entries ?? []));
    for (const prefix of this.#prefixes.get(resourceType) ?? []) {
      if (!name.startsWith(prefix)) continue;
      const prefixed = this.#acls.get(
        patternKey({ resourceType, name: prefix, patternType: PatternType.PREFIXED }),
      );
      if (prefixed !== undefined) out.push(...prefixed.entries);
    }
    return out;
  }
}

function applies(e: AccessControlEntry, who: Requester, op: number, permission: number): boolean {
  return (
    e.permission === permission &&
    (e.principal === who.principal || e.principal === WILDCARD_PRINCIPAL) &&
    (e.operation === op || e.operation === AclOperation.ALL) &&
    (e.host === who.host || e.host === WILDCARD)
  );
}
