/**
 * ACLs: the list with Kafka's filters (DescribeAcls), an ACL added (CreateAcls) and one removed
 * (DeleteAcls with a filter naming exactly it). Needs an authorizer on the cluster; without one
 * the page says so.
 */
import { describeAcls } from '../admin/acls.ts';
import { KafkaError } from '../admin/index.ts';
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermission,
  enumName,
  operationName,
  PatternType,
  parseOperation,
  parsePatternType,
  parsePermission,
  parseResourceType,
  patternTypeName,
  permissionName,
  ResourceType,
  resourceTypeName,
} from '../common/acl.ts';
import type { ConsoleContext } from './context.ts';
import { type Html, html } from './html.ts';
import { type Page, postForm, table } from './layout.ts';

/** Resource types an ACL is written for, by their Kafka names. */
export const ACL_RESOURCE_TYPES = [
  ResourceType.TOPIC,
  ResourceType.GROUP,
  ResourceType.CLUSTER,
  ResourceType.TRANSACTIONAL_ID,
  ResourceType.DELEGATION_TOKEN,
  ResourceType.USER,
] as const;

/** Operations, All first. */
export const ACL_OPERATIONS = [
  AclOperation.ALL,
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.CREATE,
  AclOperation.DELETE,
  AclOperation.ALTER,
  AclOperation.DESCRIBE,
  AclOperation.CLUSTER_ACTION,
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
  AclOperation.IDEMPOTENT_WRITE,
  AclOperation.CREATE_TOKENS,
  AclOperation.DESCRIBE_TOKENS,
] as const;

/** A code from a form field named by Kafka's name (any case, underscores ignored). */
function code(
  raw: string | null,
  parse: (name: string) => number | undefined,
  fallback: number,
  what: string,
): number {
  const text = (raw ?? '').trim();
  if (text === '') return fallback;
  const c = parse(text);
  if (c === undefined) throw new Error(`unknown ${what} ${text}`);
  return c;
}

/** The list's filter from the page's query string: blank fields match anything. */
export function aclFilterFromQuery(q: URLSearchParams): AclBindingFilter {
  const text = (name: string) => {
    const v = (q.get(name) ?? '').trim();
    return v === '' ? null : v;
  };
  return {
    resourceType: code(q.get('type'), parseResourceType, ResourceType.ANY, 'resource type'),
    name: text('name'),
    patternType: code(q.get('pattern'), parsePatternType, PatternType.ANY, 'pattern type'),
    principal: text('principal'),
    host: text('host'),
    operation: code(q.get('operation'), parseOperation, AclOperation.ANY, 'operation'),
    permission: code(q.get('permission'), parsePermission, AclPermission.ANY, 'permission'),
  };
}

const typeLabel = (c: number) => enumName(resourceTypeName(c));
const operationLabel = (c: number) => enumName(operationName(c));

function options(codes: readonly number[], label: (c: number) => string, chosen: number): Html[] {
  return codes.map(
    (c) =>
      html`<option value="${label(c)}"${c === chosen ? html` selected` : ''}>${label(c)}</option>`,
  );
}

function anyOption(chosen: number): Html {
  return html`<option value=""${chosen === 1 ? html` selected` : ''}>any</option>`;
}

function filterForm(f: AclBindingFilter): Html {
  const patterns = [PatternType.LITERAL, PatternType.PREFIXED, PatternType.MATCH];
  const permissions = [AclPermission.ALLOW, AclPermission.DENY];
  return html`<form method="get" action="/acls" class="grid" id="acl-filter">
<label>Resource type <select name="type">${anyOption(f.resourceType)}${options(ACL_RESOURCE_TYPES, typeLabel, f.resourceType)}</select></label>
<label>Resource name <input name="name" value="${f.name ?? ''}" placeholder="any"></label>
<label>Pattern <select name="pattern">${anyOption(f.patternType)}${options(patterns, patternTypeName, f.patternType)}</select></label>
<label>Principal <input name="principal" value="${f.principal ?? ''}" placeholder="any, or User:alice"></label>
<label>Host <input name="host" value="${f.host ?? ''}" placeholder="any"></label>
<label>Operation <select name="operation">${anyOption(f.operation)}${options(ACL_OPERATIONS, operationLabel, f.operation)}</select></label>
<label>Permission <select name="permission">${anyOption(f.permission)}${options(permissions, (c) => permissionName(c).toUpperCase(), f.permission)}</select></label>
<button>Filter</button>
</form>`;
}

function aclRow(ctx: ConsoleContext, b: AclBinding): readonly (Html | string)[] {
  const hidden = [
    ['type', typeLabel(b.pattern.resourceType)],
    ['name', b.pattern.name],
    ['pattern', patternTypeName(b.pattern.patternType)],
    ['principal', b.entry.principal],
    ['host', b.entry.host],
    ['operation', operationLabel(b.entry.operation)],
    ['permission', permissionName(b.entry.permission).toUpperCase()],
  ] as const;
  return [
    typeLabel(b.pattern.resourceType),
    patternTypeName(b.pattern.patternType),
    html`<span class="name">${b.pattern.name}</span>`,
    b.entry.principal,
    b.entry.host,
    operationLabel(b.entry.operation),
    html`<span class="${b.entry.permission === AclPermission.DENY ? 'bad' : 'good'}">${permissionName(b.entry.permission).toUpperCase()}</span>`,
    postForm(
      '/acls/delete',
      ctx.csrf,
      html`${hidden.map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button class="secondary">Remove</button>`,
      { className: 'inline', confirm: 'Remove this ACL?' },
    ),
  ];
}

function addForm(ctx: ConsoleContext): Html {
  const creatable = [
    ResourceType.TOPIC,
    ResourceType.GROUP,
    ResourceType.CLUSTER,
    ResourceType.TRANSACTIONAL_ID,
  ];
  return postForm(
    '/acls',
    ctx.csrf,
    html`<label>Permission <select name="permission"><option>ALLOW</option><option>DENY</option></select></label>
<label>Principal <input name="principal" required placeholder="User:alice" autocomplete="off"></label>
<label>Operation <select name="operation">${options(ACL_OPERATIONS, operationLabel, AclOperation.ALL)}</select></label>
<label>Host <input name="host" value="*" required></label>
<label>Resource type <select name="type">${options(creatable, typeLabel, ResourceType.TOPIC)}</select></label>
<label>Pattern <select name="pattern"><option>LITERAL</option><option>PREFIXED</option></select></label>
<label>Resource name <input name="name" required placeholder="a name, a prefix, * or kafka-cluster" autocomplete="off"></label>
<button>Add ACL</button>`,
    { className: 'grid' },
  );
}

export async function aclsPage(ctx: ConsoleContext, q: URLSearchParams): Promise<Page> {
  const filter = aclFilterFromQuery(q);
  let found: AclBinding[];
  try {
    found = await describeAcls(ctx.admin.client, filter);
  } catch (err) {
    if (!(err instanceof KafkaError && err.errorName === 'SECURITY_DISABLED')) throw err;
    const body = html`<h1>ACLs</h1>
<p class="empty" id="no-authorizer">The cluster has no authorizer, so it keeps no ACLs and lets every client do everything. Set <code>authorizer.class.name</code> and <code>super.users</code> on every broker to use ACLs (docs/security.md).</p>`;
    return { title: 'ACLs', section: 'acls', body };
  }
  const rows = found
    .map((b) => ({ b, key: aclRowKey(b) }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
    .map(({ b }) => aclRow(ctx, b));
  const body = html`<h1>ACLs</h1>
<p class="muted">Who may do what on which resource. A DENY beats an ALLOW; a resource no ACL applies to is open only to super users (unless the brokers allow everyone when no ACL is found). Pattern MATCH finds every ACL that applies to a resource of that name.</p>
${filterForm(filter)}
<p class="muted" id="acl-count">${found.length} ACL${found.length === 1 ? '' : 's'}.</p>
${table(['Resource', 'Pattern', 'Name', 'Principal', 'Host', 'Operation', 'Permission', ''], rows, { id: 'acls', empty: 'No ACLs match.' })}
<h2>Add an ACL</h2>
${addForm(ctx)}`;
  return { title: 'ACLs', section: 'acls', body };
}

function aclRowKey(b: AclBinding): string {
  return [
    typeLabel(b.pattern.resourceType),
    b.pattern.name,
    patternTypeName(b.pattern.patternType),
    b.entry.principal,
    b.entry.host,
    operationLabel(b.entry.operation),
    String(b.entry.permission),
  ].join('\u0000');
}
