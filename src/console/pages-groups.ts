/** Consumer groups (state, members, lag; reset and delete) and the lag alarms. */
import { describeGroupLag, listGroups, resettable } from '../admin/index.ts';
import type { AlarmRule } from './alarms.ts';
import type { ConsoleContext } from './context.ts';
import { formatCount } from './format.ts';
import { type Html, html, path } from './html.ts';
import { facts, type Page, postForm, table } from './layout.ts';

export async function groupsPage(ctx: ConsoleContext): Promise<Page> {
  const groups = await listGroups(ctx.admin.client);
  const rows = await Promise.all(
    groups.map(async (g) => {
      let lag: string;
      let members = '–';
      try {
        const d = await describeGroupLag(ctx.admin, g.groupId);
        lag = formatCount(d.totalLag);
        members = String(d.description.members.length);
      } catch (err) {
        lag = `error: ${(err as Error).message}`;
      }
      return [
        html`<a href="${path('groups', g.groupId)}">${g.groupId}</a>`,
        g.state,
        g.protocolType || '–',
        members,
        lag,
      ];
    }),
  );
  const body = html`<h1>Consumer groups</h1>
${table(['Group', 'State', 'Protocol', 'Members', 'Total lag'], rows, { id: 'groups', empty: 'No consumer groups.' })}`;
  return { title: 'Consumer groups', section: 'groups', body };
}

export async function groupPage(ctx: ConsoleContext, groupId: string): Promise<Page> {
  const { description: d, offsets, totalLag } = await describeGroupLag(ctx.admin, groupId);
  const base = path('groups', groupId);
  const memberRows = d.members.map((m) => [
    m.memberId,
    m.clientId,
    m.clientHost,
    m.assignment.map((a) => `${a.topic}: ${a.partitions.join(', ')}`).join('; ') || '–',
  ]);
  const offsetRows = offsets.map((o) => [
    html`<a href="${path('topics', o.topic)}">${o.topic}</a>`,
    String(o.partition),
    String(o.committed),
    String(o.logEnd),
    html`<span class="lag">${formatCount(o.lag)}</span>`,
    o.memberId ?? '–',
  ]);
  const topics = [...new Set(offsets.map((o) => o.topic))];
  const alarms = ctx.alarms.store.rules.filter((r) => r.group === groupId);
  const body = html`<h1>Group <span class="name">${groupId}</span></h1>
${facts([
  ['State', html`<span id="group-state">${d.state}</span>`],
  ['Protocol', `${d.protocolType || '–'} ${d.protocol}`],
  ['Members', String(d.members.length)],
  ['Total lag', html`<span id="total-lag">${totalLag}</span>`],
])}
${alarms.length === 0 ? '' : alarmTable(ctx, alarms)}
<h2>Members</h2>
${table(['Member', 'Client id', 'Host', 'Assigned'], memberRows, { empty: 'No active members.' })}
<h2>Offsets and lag</h2>
${table(['Topic', 'Partition', 'Committed', 'Log end', 'Lag', 'Member'], offsetRows, { id: 'offsets', empty: 'No committed offsets.' })}
<h2>Reset offsets</h2>
${resetForm(ctx, base, d.state, topics)}
<h2>Delete</h2>
${postForm(
  `${base}/delete`,
  ctx.csrf,
  html`<button class="danger">Delete group</button> <span class="muted">Removes the group and its committed offsets; it must have no members.</span>`,
  { className: 'inline', confirm: `Delete group ${groupId} and its committed offsets?` },
)}`;
  return { title: `Group ${groupId}`, section: 'groups', body };
}

function resetForm(ctx: ConsoleContext, base: string, state: string, topics: string[]): Html {
  const note = resettable(state)
    ? ''
    : html`<p class="muted">Offsets can only be reset while the group has no active members (it is ${state}); stop its consumers first.</p>`;
  return html`${note}${postForm(
    `${base}/reset`,
    ctx.csrf,
    html`<label>Topic <select name="topic"><option value="">all its topics</option>${topics.map((t) => html`<option>${t}</option>`)}</select></label>
<label>To <select name="to"><option value="earliest">earliest</option><option value="latest">latest</option><option value="datetime">a time</option><option value="offset">an offset</option></select></label>
<label>Time or offset <input name="value" placeholder="2024-05-01T12:00:00Z or 42"></label>
<button>Reset offsets</button>`,
    { className: 'grid', confirm: 'Commit new offsets for this group?' },
  )}`;
}

function alarmTable(ctx: ConsoleContext, rules: readonly AlarmRule[]): Html {
  const rows = rules.map((r) => {
    const s = ctx.alarms.status(r.id);
    const delivery = s.delivery;
    return [
      html`<span class="phase ${s.state.phase}">${s.state.phase}</span>`,
      html`<a href="${path('groups', r.group)}">${r.group}</a>`,
      r.topic,
      `> ${formatCount(r.threshold)} for ${r.minutes} min`,
      s.state.lag === null ? (s.error ?? 'unknown') : formatCount(s.state.lag),
      delivery === null
        ? '–'
        : `${delivery.event} ${new Date(delivery.atMs).toISOString()}${delivery.error === null ? '' : ` failed: ${delivery.error}`}`,
      r.webhookUrl,
      postForm(
        path('alarms', r.id, 'delete'),
        ctx.csrf,
        html`<button class="secondary">Remove</button>`,
        {
          className: 'inline',
          confirm: 'Remove this alarm?',
        },
      ),
    ];
  });
  return table(['State', 'Group', 'Topic', 'Rule', 'Lag', 'Last post', 'Webhook', ''], rows, {
    id: 'alarms',
  });
}

export function alarmsPage(ctx: ConsoleContext): Page {
  const rules = ctx.alarms.store.rules;
  const body = html`<h1>Lag alarms</h1>
<p class="muted">A rule fires when the group's total lag on the topic stays above the threshold for the given minutes, and clears when it is back at or below it; both are posted as JSON to the webhook. Rules are kept in <code>${ctx.alarms.store.file}</code>.</p>
${rules.length === 0 ? html`<p class="empty">No alarms.</p>` : alarmTable(ctx, rules)}
<h2>New alarm</h2>
${postForm(
  '/alarms',
  ctx.csrf,
  html`<label>Group <input name="group" required></label>
<label>Topic <input name="topic" required></label>
<label>Lag above <input name="threshold" type="number" min="0" required></label>
<label>For minutes <input name="minutes" type="number" min="0" step="any" value="5" required></label>
<label class="wide">Webhook URL <input name="webhookUrl" type="url" required placeholder="https://hooks.example/lag"></label>
<button>Add alarm</button>`,
  { className: 'grid' },
)}`;
  return { title: 'Lag alarms', section: 'alarms', body };
}
