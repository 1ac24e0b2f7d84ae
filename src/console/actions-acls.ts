/**
 * The POST forms of the ACLs page: add one ACL (checked as kafka-acls checks it: a Type:name
 * principal, an operation the resource type has), remove one (DeleteAcls with a filter that
 * names every field of it, so nothing else matches).
 */
import { createAcls, deleteAcls } from '../admin/acls.ts';
import {
  type AclBinding,
  AclOperation,
  AclPermission,
  bindingProblem,
  operationName,
  PatternType,
  parseOperation,
  parsePatternType,
  parsePermission,
  parseResourceType,
  resourceTypeName,
  SUPPORTED_OPERATIONS,
} from '../common/acl.ts';
import type { ActionResult } from './actions.ts';
import type { ConsoleContext } from './context.ts';
import { ACL_RESOURCE_TYPES } from './pages-acls.ts';

function required(form: URLSearchParams, name: string, what: string): string {
  const v = (form.get(name) ?? '').trim();
  if (v === '') throw new Error(`${what} is required`);
  return v;
}

function codeOf(
  form: URLSearchParams,
  name: string,
  parse: (text: string) => number | undefined,
  allowed: readonly number[],
  what: string,
): number {
  const text = required(form, name, what);
  const c = parse(text);
  if (c === undefined || !allowed.includes(c))
    throw new Error(`${what} ${text} is not one of these`);
  return c;
}

/**
 * The one ACL a form names (every field concrete), checked before it is sent. An ACL to remove
 * is not held to the operations its resource type has: another tool may have written it.
 */
export function aclFromForm(form: URLSearchParams, toRemove = false): AclBinding {
  const resourceType = codeOf(
    form,
    'type',
    parseResourceType,
    ACL_RESOURCE_TYPES,
    'a resource type',
  );
  const patternType = codeOf(
    form,
    'pattern',
    parsePatternType,
    [PatternType.LITERAL, PatternType.PREFIXED],
    'a pattern type',
  );
  const operation = codeOf(
    form,
    'operation',
    parseOperation,
    Object.values(AclOperation).filter((c) => c >= AclOperation.ALL),
    'an operation',
  );
  const permission = codeOf(
    form,
    'permission',
    parsePermission,
    [AclPermission.ALLOW, AclPermission.DENY],
    'a permission',
  );
  const binding: AclBinding = {
    pattern: { resourceType, name: required(form, 'name', 'a resource name'), patternType },
    entry: {
      principal: required(form, 'principal', 'a principal'),
      host: required(form, 'host', 'a host'),
      operation,
      permission,
    },
  };
  const problem = bindingProblem(binding);
  if (problem !== undefined) throw new Error(problem);
  const supported = SUPPORTED_OPERATIONS.get(resourceType) ?? [];
  if (!toRemove && operation !== AclOperation.ALL && !supported.includes(operation)) {
    throw new Error(
      `${resourceTypeName(resourceType)} supports only ${supported.map(operationName).join(', ')} (and All), not ${operationName(operation)}`,
    );
  }
  return binding;
}

export function describeAcl(b: AclBinding): string {
  const permission = b.entry.permission === AclPermission.ALLOW ? 'ALLOW' : 'DENY';
  const pattern = b.pattern.patternType === PatternType.PREFIXED ? 'prefixed ' : '';
  return `${permission} ${b.entry.principal} ${operationName(b.entry.operation)} from ${b.entry.host} on ${resourceTypeName(b.pattern.resourceType)} ${pattern}${b.pattern.name}`;
}

export async function addAcl(ctx: ConsoleContext, form: URLSearchParams): Promise<ActionResult> {
  const binding = aclFromForm(form);
  await createAcls(ctx.admin.client, [binding]);
  return { location: '/acls', ok: `Added ${describeAcl(binding)}.` };
}

export async function removeAcl(ctx: ConsoleContext, form: URLSearchParams): Promise<ActionResult> {
  const b = aclFromForm(form, true);
  const removed = await deleteAcls(ctx.admin.client, [
    {
      resourceType: b.pattern.resourceType,
      name: b.pattern.name,
      patternType: b.pattern.patternType,
      principal: b.entry.principal,
      host: b.entry.host,
      operation: b.entry.operation,
      permission: b.entry.permission,
    },
  ]);
  if (removed.length === 0) throw new Error(`no such ACL: ${describeAcl(b)}`);
  return { location: '/acls', ok: `Removed ${describeAcl(b)}.` };
}
