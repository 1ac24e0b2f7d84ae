/**
 * `tributary acls list | add | remove`, with kafka-acls' options: principals (--allow-principal,
 * --deny-principal; --principal to filter a list), hosts (--allow-host, --deny-host; default *),
 * operations (--operation, repeatable; default All), resources (--topic, --group,
 * --transactional-id, repeatable, and --cluster) and --resource-pattern-type (literal or prefixed
 * for add; also match and any for list and remove). Needs an authorizer on the broker.
 */
import { createAcls, deleteAcls, describeAcls } from '../admin/acls.ts';
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermission,
  CLUSTER_NAME,
  enumName,
  operationName,
  PatternType,
  parseOperation,
  parsePatternType,
  type ResourcePattern,
  ResourceType,
  resourceTypeName,
  SUPPORTED_OPERATIONS,
} from '../common/acl.ts';
import { type ParsedArgs, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, writeJson } from './output.ts';

export const aclsCommand: Command = {
  name: 'acls',
  summary: 'list, add and remove ACLs (the broker needs authorizer.class.name)',
  synopsis: `usage: tributary acls list [RESOURCE...] [--principal P]... [--resource-pattern-type T] [--json]
       tributary acls add RESOURCE... (--allow-principal P | --deny-principal P)... [--operation OP]... [--allow-host H] [--deny-host H] [--resource-pattern-type literal|prefixed]
       tributary acls remove RESOURCE... [--allow-principal P | --deny-principal P]... [--operation OP]... [--resource-pattern-type T]
  RESOURCE: --topic T | --group G | --transactional-id ID | --cluster`,
  options: {
    topic: { kind: 'list', value: 'TOPIC', help: 'a topic (or prefix); * for every topic' },
    group: {
      kind: 'list',
      value: 'GROUP',
      help: 'a consumer group (or prefix); * for every group',
    },
    'transactional-id': {
      kind: 'list',
      value: 'ID',
      help: 'a transactional id (or prefix); * for every one',
    },
    cluster: { kind: 'flag', help: 'the cluster resource (kafka-cluster)' },
    'allow-principal': { kind: 'list', value: 'P', help: 'principal to allow, e.g. User:alice' },
    'deny-principal': {
      kind: 'list',
      value: 'P',
      help: 'principal to deny (a DENY beats an ALLOW)',
    },
    principal: { kind: 'list', value: 'P', help: 'list: only the ACLs of this principal' },
    'allow-host': { kind: 'list', value: 'HOST', help: 'client address allowed from (default *)' },
    'deny-host': { kind: 'list', value: 'HOST', help: 'client address denied from (default *)' },
    operation: {
      kind: 'list',
      value: 'OP',
      help: 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (default All)',
    },
    'resource-pattern-type': {
      kind: 'string',
      value: 'T',
      help: 'literal (default), prefixed; list and remove also take match and any',
    },
    force: { kind: 'flag', help: 'accepted for kafka-acls compatibility (there is no prompt)' },
    json: { kind: 'flag', help: 'list: print JSON for scripts' },
  },
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
    switch (sub) {
      case 'list': {
        const filters = listFilters(args);
        return withAdmin(args, io, (admin) => listAcls(admin.client, filters, args, io));
      }
      case 'add': {
        const bindings = addBindings(args);
        return withAdmin(args, io, async (admin) => {
          await createAcls(admin.client, bindings);
          for (const b of bindings) io.stdout.write(`added ${line(b)}\n`);
          return EXIT.ok;
        });
      }
      case 'remove': {
        const filters = removeFilters(args);
        return withAdmin(args, io, async (admin) => {
          const removed = await deleteAcls(admin.client, filters);
          for (const b of removed) io.stdout.write(`removed ${line(b)}\n`);
          io.stdout.write(`removed ${removed.length} ACL${removed.length === 1 ? '' : 's'}\n`);
          return EXIT.ok;
        });
      }
      default:
        throw new UsageError(
          sub === undefined ? 'acls needs a subcommand' : `unknown subcommand acls ${sub}`,
        );
    }
  },
};

type Client = Parameters<typeof describeAcls>[0];

function line(b: AclBinding): string {
  const [type, pattern, name, principal, host, op, permission] = row(b);
  return `${permission} ${principal} ${op} from ${host} on ${type} ${pattern} ${name}`;
}

function row(b: AclBinding): string[] {
  return [
    enumName(resourceTypeName(b.pattern.resourceType)),
    b.pattern.patternType === PatternType.PREFIXED ? 'PREFIXED' : 'LITERAL',
    b.pattern.name,
    b.entry.principal,
    b.entry.host,
    enumName(operationName(b.entry.operation)),
    b.entry.permission === AclPermission.ALLOW ? 'ALLOW' : 'DENY',
  ];
}

async function listAcls(
  client: Client,
  filters: readonly AclBindingFilter[],
  args: ParsedArgs,
  io: Io,
): Promise<number> {
  const seen = new Set<string>();
  const found: AclBinding[] = [];
  for (const f of filters) {
    for (const b of await describeAcls(client, f)) {
      const key = JSON.stringify(b);
      if (!seen.has(key)) found.push(b);
      seen.add(key);
    }
  }
  const rows = found.map(row).sort((x, y) => x.join('\0').localeCompare(y.join('\0')));
  if (args.flag('json')) {
    const keys = ['resourceType', 'patternType', 'name', 'principal', 'host', 'operation'];
    writeJson(
      io,
      rows.map((r) => ({
        ...Object.fromEntries(keys.map((k, i) => [k, r[i]])),
        permission: r[6],
      })),
    );
    return EXIT.ok;
  }
  const header = ['resource', 'pattern', 'name', 'principal', 'host', 'operation', 'permission'];
  io.stdout.write(formatTable(header, rows));
  return EXIT.ok;
}

/** The resources named on the command line, with the pattern type asked for. */
function resources(args: ParsedArgs, patternType: number): ResourcePattern[] {
  const out: ResourcePattern[] = [];
  const add = (resourceType: number, names: readonly string[]) => {
    for (const name of names) out.push({ resourceType, name, patternType });
  };
  add(ResourceType.TOPIC, args.list('topic'));
  add(ResourceType.GROUP, args.list('group'));
  add(ResourceType.TRANSACTIONAL_ID, args.list('transactional-id'));
  if (args.flag('cluster')) add(ResourceType.CLUSTER, [CLUSTER_NAME]);
  return out;
}

function patternTypeOf(args: ParsedArgs, allowed: readonly number[]): number {
  const raw = args.string('resource-pattern-type');
  if (raw === undefined) return PatternType.LITERAL;
  const code = parsePatternType(raw);
  if (code === undefined || !allowed.includes(code)) {
    throw new UsageError(`--resource-pattern-type ${raw} is not one of the types this takes`);
  }
  return code;
}

function operationsOf(args: ParsedArgs, fallback: number): number[] {
  const names = args.list('operation');
  if (names.length === 0) return [fallback];
  return names.map((n) => {
    const code = parseOperation(n);
    if (code === undefined || code === AclOperation.ANY) {
      throw new UsageError(`unknown --operation ${n}`);
    }
    return code;
  });
}

function checkPrincipal(p: string): string {
  if (p.indexOf(':') <= 0) throw new UsageError(`principal ${p} must be Type:name (User:alice)`);
  return p;
}

/** (principal, host, permission) of --allow-principal and --deny-principal. */
function entries(args: ParsedArgs): { principal: string; host: string; permission: number }[] {
  const out: { principal: string; host: string; permission: number }[] = [];
  const sides = [
    ['allow-principal', 'allow-host', AclPermission.ALLOW],
    ['deny-principal', 'deny-host', AclPermission.DENY],
  ] as const;
  for (const [principalOption, hostOption, permission] of sides) {
    const hosts = args.list(hostOption);
    for (const principal of args.list(principalOption)) {
      for (const host of hosts.length === 0 ? ['*'] : hosts) {
        out.push({ principal: checkPrincipal(principal), host, permission });
      }
    }
  }
  return out;
}

function addBindings(args: ParsedArgs): AclBinding[] {
  const patterns = resources(
    args,
    patternTypeOf(args, [PatternType.LITERAL, PatternType.PREFIXED]),
  );
  if (patterns.length === 0)
    throw new UsageError('acls add needs a resource (--topic, --group, ...)');
  const who = entries(args);
  if (who.length === 0)
    throw new UsageError('acls add needs --allow-principal or --deny-principal');
  const operations = operationsOf(args, AclOperation.ALL);
  const out: AclBinding[] = [];
  for (const pattern of patterns) {
    const supported = SUPPORTED_OPERATIONS.get(pattern.resourceType) ?? [];
    for (const operation of operations) {
      if (operation !== AclOperation.ALL && !supported.includes(operation)) {
        const type = resourceTypeName(pattern.resourceType);
        throw new UsageError(
          `${type} supports only ${supported.map(operationName).join(', ')} (and All), not ${operationName(operation)}`,
        );
      }
      for (const e of who) out.push({ pattern, entry: { ...e, operation } });
    }
  }
  return out;
}

const ALL_PATTERN_TYPES = [
  PatternType.LITERAL,
  PatternType.PREFIXED,
  PatternType.MATCH,
  PatternType.ANY,
];

function filterOf(
  p: ResourcePattern | null,
  entry: { principal: string | null; host: string | null; operation: number; permission: number },
): AclBindingFilter {
  return {
    resourceType: p?.resourceType ?? ResourceType.ANY,
    name: p?.name ?? null,
    patternType: p?.patternType ?? PatternType.ANY,
    ...entry,
  };
}

function listFilters(args: ParsedArgs): AclBindingFilter[] {
  const patterns = resources(args, patternTypeOf(args, ALL_PATTERN_TYPES));
  const principals = args.list('principal').map(checkPrincipal);
  const out: AclBindingFilter[] = [];
  for (const p of patterns.length === 0 ? [null] : patterns) {
    for (const principal of principals.length === 0 ? [null] : principals) {
      out.push(
        filterOf(p, {
          principal,
          host: null,
          operation: AclOperation.ANY,
          permission: AclPermission.ANY,
        }),
      );
    }
  }
  return out;
}

function removeFilters(args: ParsedArgs): AclBindingFilter[] {
  const patterns = resources(args, patternTypeOf(args, ALL_PATTERN_TYPES));
  if (patterns.length === 0) {
    throw new UsageError('acls remove needs a resource (--topic, --group, ...)');
  }
  const who = entries(args);
  // As kafka-acls: with principals the operation defaults to All (the ACLs of operation All),
  // without, every ACL of the resource.
  const operations = operationsOf(args, who.length === 0 ? AclOperation.ANY : AclOperation.ALL);
  const out: AclBindingFilter[] = [];
  for (const p of patterns) {
    // No principal: every ACL of the resource goes (kafka-acls --remove does the same).
    if (who.length === 0) {
      for (const operation of operations) {
        out.push(
          filterOf(p, { principal: null, host: null, operation, permission: AclPermission.ANY }),
        );
      }
      continue;
    }
    for (const e of who)
      for (const operation of operations) out.push(filterOf(p, { ...e, operation }));
  }
  return out;
}
