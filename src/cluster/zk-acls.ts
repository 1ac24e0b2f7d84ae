/**
 * ACLs in ZooKeeper, in Kafka 3.9's layout (ZkData.scala: ZkAclStore, ZkAclChangeStore), so that
 * Kafka's own tools and brokers of that era read what Tributary writes and the other way round:
 *
 * - literal patterns: /kafka-acl/<ResourceType>/<name>
 * - prefixed patterns: /kafka-acl-extended/prefixed/<ResourceType>/<name>
 *   each holding {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow",
 *   "operation":"Read","host":"*"}]} (resource types named Topic, Group, Cluster,
 *   TransactionalId, DelegationToken, User; operations Read, DescribeConfigs, ...);
 * - change notifications, persistent sequential znodes that every broker watches:
 *   /kafka-acl-changes/acl_changes_<10 digits> holding "TOPIC:<name>" for a literal pattern, and
 *   /kafka-acl-extended-changes/acl_changes_<10 digits> holding
 *   {"version":1,"resourceType":"TOPIC","name":"<name>","patternType":"PREFIXED"}.
 *
 * A resource's znode is replaced conditionally on the version read (two brokers changing the ACLs
 * of one resource at once cannot lose either change) in one multi with its change notification.
 */
import {
  type AccessControlEntry,
  type AclBinding,
  AclPermission,
  enumName,
  operationName,
  PatternType,
  parseOperation,
  parsePermission,
  parseResourceType,
  type ResourcePattern,
  ResourceType,
  resourceTypeName,
} from '../common/acl.ts';
import type { Clock } from '../common/clock.ts';
import { type Coordination, CoordinationError, type Op } from './coordination.ts';
import { sequenceNumberOf } from './zk-layout.ts';

export const ACL_CHANGE_PREFIX = 'acl_changes_';
const LITERAL_ROOT = '/kafka-acl';
const EXTENDED_ROOT = '/kafka-acl-extended';
const PREFIXED_ROOT = `${EXTENDED_ROOT}/prefixed`;
export const LITERAL_CHANGES = '/kafka-acl-changes';
export const EXTENDED_CHANGES = '/kafka-acl-extended-changes';
/** Kafka's ZkNodeChangeNotificationListener purges notifications older than this. */
const ACL_CHANGE_EXPIRATION_MS = 15 * 60 * 1000;
const CONNECTION_LOSS_ATTEMPTS = 5;

const CONCRETE_TYPES = [
  ResourceType.TOPIC,
  ResourceType.GROUP,
  ResourceType.CLUSTER,
  ResourceType.TRANSACTIONAL_ID,
  ResourceType.DELEGATION_TOKEN,
  ResourceType.USER,
];

/** The znodes Kafka's authorizer creates at start (KafkaZkClient.createAclPaths). */
export const ACL_PATHS: readonly string[] = [
  ...[LITERAL_ROOT, PREFIXED_ROOT].flatMap((root) => [
    root,
    ...CONCRETE_TYPES.map((t) => `${root}/${resourceTypeName(t)}`),
  ]),
  LITERAL_CHANGES,
  EXTENDED_CHANGES,
];

export function aclPath(p: ResourcePattern): string {
  const root = p.patternType === PatternType.PREFIXED ? PREFIXED_ROOT : LITERAL_ROOT;
  return `${root}/${resourceTypeName(p.resourceType)}/${p.name}`;
}

/** Java's enum name of a resource type, as the change notifications carry it ("TOPIC"). */
function typeEnumName(resourceType: number): string {
  return enumName(resourceTypeName(resourceType));
}

export function encodeAcls(entries: readonly AccessControlEntry[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: 1,
      acls: entries.map((e) => ({
        principal: e.principal,
        permissionType: e.permission === AclPermission.ALLOW ? 'Allow' : 'Deny',
        operation: operationName(e.operation),
        host: e.host,
      })),
    }),
  );
}

export function decodeAcls(path: string, data: Buffer): AccessControlEntry[] {
  if (data.length === 0) return [];
  const json = JSON.parse(data.toString('utf8')) as {
    version?: unknown;
    acls?: { principal?: unknown; permissionType?: unknown; operation?: unknown; host?: unknown }[];
  };
  if (json.version !== 1 || !Array.isArray(json.acls)) {
    throw new Error(`${path}: not an ACL znode of version 1`);
  }
  return json.acls.map((a) => {
    const operation = parseOperation(String(a.operation));
    const permission = parsePermission(String(a.permissionType));
    if (typeof a.principal !== 'string' || typeof a.host !== 'string') {
      throw new Error(`${path}: an ACL without principal or host`);
    }
    if (operation === undefined || permission === undefined) {
      throw new Error(`${path}: unknown operation or permission type`);
    }
    return { principal: a.principal, host: a.host, operation, permission };
  });
}

export function encodeAclChange(p: ResourcePattern): { path: string; data: Buffer } {
  if (p.patternType === PatternType.LITERAL) {
    return {
      path: `${LITERAL_CHANGES}/${ACL_CHANGE_PREFIX}`,
      data: Buffer.from(`${typeEnumName(p.resourceType)}:${p.name}`),
    };
  }
  return {
    path: `${EXTENDED_CHANGES}/${ACL_CHANGE_PREFIX}`,
    data: Buffer.from(
      JSON.stringify({
        version: 1,
        resourceType: typeEnumName(p.resourceType),
        name: p.name,
        patternType: 'PREFIXED',
      }),
    ),
  };
}

export function decodeAclChange(root: string, data: Buffer): ResourcePattern | undefined {
  const text = data.toString('utf8');
  if (root === LITERAL_CHANGES) {
    const colon = text.indexOf(':');
    const type = parseResourceType(text.slice(0, colon));
    if (colon < 0 || type === undefined) return undefined;
    return { resourceType: type, name: text.slice(colon + 1), patternType: PatternType.LITERAL };
  }
  const json = JSON.parse(text) as {
    resourceType?: unknown;
    name?: unknown;
    patternType?: unknown;
  };
  const type = parseResourceType(String(json.resourceType));
  if (type === undefined || typeof json.name !== 'string') return undefined;
  if (String(json.patternType).toUpperCase() !== 'PREFIXED') return undefined;
  return { resourceType: type, name: json.name, patternType: PatternType.PREFIXED };
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof CoordinationError && codes.includes(err.code);
}

/** The ACL part of the ZooKeeper store, over one session. */
export class ZkAcls {
  readonly #zk: Coordination;
  readonly #clock: Clock;

  constructor(zk: Coordination, clock: Clock) {
    this.#zk = zk;
    this.#clock = clock;
  }

  async #retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (!isCode(err, 'CONNECTIONLOSS') || attempt >= CONNECTION_LOSS_ATTEMPTS) throw err;
      }
    }
  }

  async #read(path: string): Promise<{ data: Buffer; version: number } | null> {
    try {
      const r = await this.#retrying(() => this.#zk.getData(path));
      return { data: r.data, version: r.stat.version };
    } catch (err) {
      if (isCode(err, 'NONODE')) return null;
      throw err;
    }
  }

  async #children(path: string, watch?: () => void): Promise<string[]> {
    try {
      return await this.#retrying(() => this.#zk.getChildren(path, watch));
    } catch (err) {
      if (isCode(err, 'NONODE')) return [];
      throw err;
    }
  }

  async #ensure(path: string): Promise<void> {
    const parent = path.slice(0, path.lastIndexOf('/'));
    try {
      await this.#retrying(() => this.#zk.create(path, Buffer.alloc(0), 'persistent'));
    } catch (err) {
      if (isCode(err, 'NODEEXISTS')) return;
      if (!isCode(err, 'NONODE') || parent === '') throw err;
      await this.#ensure(parent);
      await this.#ensure(path);
    }
  }

  /** Creates Kafka's ACL znodes where missing. */
  async createPaths(): Promise<void> {
    for (const path of ACL_PATHS) await this.#ensure(path);
  }

  async entriesOf(p: ResourcePattern): Promise<AccessControlEntry[]> {
    const path = aclPath(p);
    const znode = await this.#read(path);
    return znode === null ? [] : decodeAcls(path, znode.data);
  }

  /** Every ACL stored (Kafka's loadAllAcls). */
  async all(): Promise<AclBinding[]> {
    const out: AclBinding[] = [];
    for (const [root, patternType] of [
      [LITERAL_ROOT, PatternType.LITERAL],
      [PREFIXED_ROOT, PatternType.PREFIXED],
    ] as const) {
      for (const typeName of await this.#children(root)) {
        const resourceType = parseResourceType(typeName);
        if (resourceType === undefined) continue;
        for (const name of await this.#children(`${root}/${typeName}`)) {
          const pattern = { resourceType, name, patternType };
          for (const entry of await this.entriesOf(pattern)) out.push({ pattern, entry });
        }
      }
    }
    return out;
  }

  /**
   * Replaces the entries of one pattern with `update(current)`, conditionally on the version
   * read, with its change notification in the same multi; nothing is written when unchanged.
   * Returns the entries written.
   */
  async update(
    p: ResourcePattern,
    update: (current: readonly AccessControlEntry[]) => AccessControlEntry[],
  ): Promise<AccessControlEntry[]> {
    const path = aclPath(p);
    await this.#ensure(path.slice(0, path.lastIndexOf('/')));
    for (;;) {
      const znode = await this.#read(path);
      const current = znode === null ? [] : decodeAcls(path, znode.data);
      const next = update(current);
      if (sameEntries(current, next)) return current;
      let write: Op;
      if (znode === null) write = { type: 'create', path, data: encodeAcls(next) };
      else if (next.length === 0) write = { type: 'delete', path, version: znode.version };
      else write = { type: 'setData', path, data: encodeAcls(next), version: znode.version };
      const change = encodeAclChange(p);
      try {
        await this.#retrying(() =>
          this.#zk.multi([
            write,
            { type: 'create', path: change.path, data: change.data, mode: 'persistent_sequential' },
          ]),
        );
        return next;
      } catch (err) {
        if (!(err instanceof CoordinationError) || err.opIndex !== 0) throw err;
        if (!isCode(err, 'NODEEXISTS', 'BADVERSION', 'NONODE')) throw err;
      }
    }
  }

  /**
   * The patterns named by the notifications under `root` after sequence number `after` (-1: none
   * seen yet), and the last sequence number; `watch` fires on the next change. Notifications
   * older than 15 minutes among those seen are deleted, as Kafka purges them.
   */
  async changes(
    root: string,
    after: number,
    watch: () => void,
  ): Promise<{ patterns: ResourcePattern[]; last: number }> {
    const names = await this.#children(root, watch);
    const numbered = names
      .map((name) => ({ name, seq: sequenceNumberOf(name, ACL_CHANGE_PREFIX) }))
      .filter((n): n is { name: string; seq: number } => n.seq !== undefined)
      .sort((a, b) => a.seq - b.seq);
    const patterns: ResourcePattern[] = [];
    for (const n of numbered.filter((x) => x.seq > after)) {
      const znode = await this.#read(`${root}/${n.name}`);
      if (znode === null) continue;
      try {
        const p = decodeAclChange(root, znode.data);
        if (p !== undefined) patterns.push(p);
      } catch {
        // A notification that does not parse names nothing (Kafka logs and skips it).
      }
    }
    await this.#purge(
      root,
      numbered.filter((n) => n.seq <= after).map((n) => n.name),
    );
    return { patterns, last: Math.max(after, ...numbered.map((n) => n.seq)) };
  }

  async #purge(root: string, seen: readonly string[]): Promise<void> {
    const expired = this.#clock.nowMs() - ACL_CHANGE_EXPIRATION_MS;
    for (const name of seen) {
      const path = `${root}/${name}`;
      const stat = await this.#retrying(() => this.#zk.exists(path));
      if (stat === null || stat.ctime >= expired) continue;
      await this.#retrying(() => this.#zk.delete(path)).catch((err: unknown) => {
        if (!isCode(err, 'NONODE')) throw err;
      });
    }
  }
}

function sameEntries(a: readonly AccessControlEntry[], b: readonly AccessControlEntry[]): boolean {
  if (a.length !== b.length) return false;
  return a.every(
    (x, i) =>
      x.principal === b[i]?.principal &&
      x.host === b[i]?.host &&
      x.operation === b[i]?.operation &&
      x.permission === b[i]?.permission,
  );
}
