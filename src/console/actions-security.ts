/**
 * The POST forms of the users and quotas pages. As in actions.ts, an error thrown here (a bad
 * field, the broker's refusal) is shown on the page the form came from.
 */
import {
  alterClientQuotas,
  alterScramUser,
  describeScramUsers,
  type QuotaEntityPart,
} from '../admin/index.ts';
import type { ActionResult } from './actions.ts';
import type { ConsoleContext } from './context.ts';
import {
  type ConsoleScramMechanism,
  entityLabel,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISMS,
} from './pages-security.ts';

function mechanismOf(raw: string | null): ConsoleScramMechanism {
  const m = (SCRAM_MECHANISMS as readonly string[]).find((x) => x === raw);
  if (m === undefined) throw new Error(`the mechanism must be ${SCRAM_MECHANISMS.join(' or ')}`);
  return m as ConsoleScramMechanism;
}

export async function saveUser(ctx: ConsoleContext, form: URLSearchParams): Promise<ActionResult> {
  const user = (form.get('user') ?? '').trim();
  if (user === '') throw new Error('a user name is required');
  const password = form.get('password') ?? '';
  if (password === '') throw new Error('a password is required');
  const mechanism = mechanismOf(form.get('mechanism'));
  const rawIterations = (form.get('iterations') ?? '').trim();
  const iterations = rawIterations === '' ? SCRAM_ITERATIONS_MIN : Number(rawIterations);
  if (
    !Number.isInteger(iterations) ||
    iterations < SCRAM_ITERATIONS_MIN ||
    iterations > SCRAM_ITERATIONS_MAX
  ) {
    throw new Error(
      `iterations must be a whole number from ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX}`,
    );
  }
  await alterScramUser(ctx.admin.client, user, mechanism, password, iterations);
  return { location: '/users', ok: `Saved ${mechanism} credentials for user ${user}.` };
}

export async function removeUser(
  ctx: ConsoleContext,
  user: string,
  form: URLSearchParams,
): Promise<ActionResult> {
  const given = form.get('mechanism');
  const have = (await describeScramUsers(ctx.admin.client, [user]))[0]?.credentials ?? [];
  const gone = have
    .map((c) => c.mechanism)
    .filter((m) => given === null || given === '' || m === given)
    .map(mechanismOf);
  if (gone.length === 0) throw new Error(`user ${user} has no ${given ?? 'SCRAM'} credential`);
  for (const m of gone) await alterScramUser(ctx.admin.client, user, m, null);
  return { location: '/users', ok: `Removed ${gone.join(', ')} credentials of user ${user}.` };
}

const ENTITY_FIELDS: Readonly<Record<string, string>> = {
  user: 'user',
  'client-id': 'clientId',
  ip: 'ip',
};

const KINDS = new Set(['user', 'client-id', 'user,client-id', 'ip']);

/** The entity the set form names: the chosen kind's fields, blank meaning the default. */
export function quotaEntityFromForm(form: URLSearchParams): QuotaEntityPart[] {
  const kind = form.get('kind') ?? '';
  if (!KINDS.has(kind)) throw new Error('choose a user, a client id, both, or an IP address');
  const types = kind.split(',');
  for (const [type, field] of Object.entries(ENTITY_FIELDS)) {
    if (!types.includes(type) && (form.get(field) ?? '').trim() !== '') {
      throw new Error(`the ${type} field is not part of a ${kind} entity: leave it blank`);
    }
  }
  return types.map((type) => {
    const name = (form.get(ENTITY_FIELDS[type] as string) ?? '').trim();
    return { entityType: type, entityName: name === '' ? null : name };
  });
}

/** The entity of a delete form: the JSON the quota list wrote. */
export function quotaEntityFromJson(raw: string): QuotaEntityPart[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('the form names no quota entity');
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length > 0 &&
    parsed.every(
      (p) =>
        typeof p === 'object' &&
        p !== null &&
        typeof p.entityType === 'string' &&
        (p.entityName === null || typeof p.entityName === 'string'),
    );
  if (!ok) throw new Error('the form names no quota entity');
  return (parsed as QuotaEntityPart[]).map((p) => ({
    entityType: p.entityType,
    entityName: p.entityName,
  }));
}

export async function setQuota(ctx: ConsoleContext, form: URLSearchParams): Promise<ActionResult> {
  const entity = quotaEntityFromForm(form);
  const key = (form.get('key') ?? '').trim();
  if (key === '') throw new Error('choose a quota');
  const raw = (form.get('value') ?? '').trim();
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value)) throw new Error(`the value must be a number`);
  await alterClientQuotas(ctx.admin.client, entity, { set: new Map([[key, value]]), remove: [] });
  return { location: '/quotas', ok: `Set ${key} = ${value} for ${entityLabel(entity)}.` };
}

export async function deleteQuota(
  ctx: ConsoleContext,
  form: URLSearchParams,
): Promise<ActionResult> {
  const entity = quotaEntityFromJson(form.get('entity') ?? '');
  const key = (form.get('key') ?? '').trim();
  if (key === '') throw new Error('the form names no quota');
  await alterClientQuotas(ctx.admin.client, entity, { set: new Map(), remove: [key] });
  return { location: '/quotas', ok: `Deleted ${key} of ${entityLabel(entity)}.` };
}
