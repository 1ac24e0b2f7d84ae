/** SCRAM users and client quotas (the cluster's own security settings, over admin/). */
import { describeClientQuotas, describeScramUsers, type QuotaEntityPart } from '../admin/index.ts';
import type { ConsoleContext } from './context.ts';
import { formatCount } from './format.ts';
import { html, path } from './html.ts';
import { type Page, postForm, table } from './layout.ts';

/** The SCRAM mechanisms a user can be given, as Kafka names them. */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ConsoleScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's bounds on SCRAM iterations (ScramMechanism.minIterations, and 16384 at most). */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 16384;

export async function usersPage(ctx: ConsoleContext): Promise<Page> {
  const users = await describeScramUsers(ctx.admin.client, []);
  const rows = users
    .slice()
    .sort((a, b) => a.user.localeCompare(b.user))
    .flatMap((u) =>
      u.credentials.map((c) => [
        html`<span class="name">${u.user}</span>`,
        c.mechanism,
        String(c.iterations),
        postForm(
          `${path('users', u.user)}/delete`,
          ctx.csrf,
          html`<input type="hidden" name="mechanism" value="${c.mechanism}"><button class="secondary">Remove</button>`,
          { className: 'inline', confirm: `Remove ${u.user}'s ${c.mechanism} credential?` },
        ),
      ]),
    );
  const body = html`<h1>SCRAM users</h1>
<p class="muted">Users who log in with SASL SCRAM. The password is salted and hashed here; only the salted credential is sent to the cluster, which never shows it again.</p>
${table(['User', 'Mechanism', 'Iterations', ''], rows, { id: 'users', empty: 'No SCRAM users.' })}
<h2>Add a user or change a password</h2>
${postForm(
  '/users',
  ctx.csrf,
  html`<label>User <input name="user" required autocomplete="off"></label>
<label>Password <input name="password" type="password" required autocomplete="new-password"></label>
<label>Mechanism <select name="mechanism">${SCRAM_MECHANISMS.map((m) => html`<option>${m}</option>`)}</select></label>
<label>Iterations <input name="iterations" type="number" min="${SCRAM_ITERATIONS_MIN}" max="${SCRAM_ITERATIONS_MAX}" value="${SCRAM_ITERATIONS_MIN}" required></label>
<button>Save user</button>`,
  { className: 'grid' },
)}`;
  return { title: 'SCRAM users', section: 'users', body };
}

/** The quota keys Kafka knows, with what each limits. */
export const QUOTA_KEYS: readonly (readonly [string, string])[] = [
  ['producer_byte_rate', 'bytes per second produced'],
  ['consumer_byte_rate', 'bytes per second fetched'],
  ['request_percentage', 'percent of one request handler thread'],
  ['connection_creation_rate', 'new connections per second (IP entities only)'],
];

/** An entity as one line: `user 'alice', client-id <default>`. */
export function entityLabel(entity: readonly QuotaEntityPart[]): string {
  return entity
    .map((p) => `${p.entityType} ${p.entityName === null ? '<default>' : `'${p.entityName}'`}`)
    .join(', ');
}

const ENTITY_ORDER = ['user', 'client-id', 'ip'];

/** Users first, then client ids, then IPs; a pair after its user alone. */
function entitySortKey(entity: readonly QuotaEntityPart[]): string {
  return entity
    .map((p) => `${ENTITY_ORDER.indexOf(p.entityType)}\u0000${p.entityName ?? ''}`)
    .sort()
    .join('\u0001');
}

export async function quotasPage(ctx: ConsoleContext): Promise<Page> {
  const found = await describeClientQuotas(ctx.admin.client, [], false);
  found.sort((a, b) => {
    const [x, y] = [entitySortKey(a.entity), entitySortKey(b.entity)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const rows = found.flatMap((q) =>
    [...q.values].map(([key, value]) => [
      entityLabel(q.entity),
      html`<code>${key}</code>`,
      key.endsWith('_byte_rate') ? `${formatCount(value)} B/s` : String(value),
      postForm(
        '/quotas/delete',
        ctx.csrf,
        html`<input type="hidden" name="entity" value="${JSON.stringify(q.entity)}"><input type="hidden" name="key" value="${key}"><button class="secondary">Delete</button>`,
        { className: 'inline', confirm: `Delete ${key} of ${entityLabel(q.entity)}?` },
      ),
    ]),
  );
  const body = html`<h1>Client quotas</h1>
<p class="muted">Byte rates and request time per user, client id, (user, client id) and their defaults, and connection rates per IP; the most specific quota that matches a connection applies. A change applies on every broker without a restart.</p>
${table(['Entity', 'Quota', 'Value', ''], rows, { id: 'quotas', empty: 'No client quotas.' })}
<h2>Set a quota</h2>
${postForm(
  '/quotas',
  ctx.csrf,
  html`<label>Entity <select name="kind"><option value="user">a user</option><option value="client-id">a client id</option><option value="user,client-id">a user and client id</option><option value="ip">an IP address</option></select></label>
<label>User <input name="user" placeholder="blank: every user's default" autocomplete="off"></label>
<label>Client id <input name="clientId" placeholder="blank: every client's default" autocomplete="off"></label>
<label>IP address <input name="ip" placeholder="blank: every IP's default" autocomplete="off"></label>
<label>Quota <select name="key">${QUOTA_KEYS.map(([k, what]) => html`<option value="${k}">${k} (${what})</option>`)}</select></label>
<label>Value <input name="value" type="number" min="0" step="any" required></label>
<button>Set quota</button>`,
  { className: 'grid' },
)}`;
  return { title: 'Client quotas', section: 'quotas', body };
}
