/**
 * What the POST forms do. Each action returns where to go next and what to say there; an error
 * thrown here (a broker's refusal, a bad field) is shown on the page the form came from.
 */
import {
  alterConfigs,
  commitOffsetReset,
  GroupOffsets,
  notResettableMessage,
  planOffsetReset,
  type ResetTarget,
  resettable,
  type TopicMetadata,
  TopicProducer,
} from '../admin/index.ts';
import { checkRule } from './alarms.ts';
import type { ConsoleContext } from './context.ts';
import { path } from './html.ts';

export interface ActionResult {
  readonly location: string;
  readonly ok: string;
}

/** A whole number from a form field, or null when the field is empty. */
function formInt(form: URLSearchParams, name: string, min: number): number | null {
  const raw = (form.get(name) ?? '').trim();
  if (raw === '') return null;
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < min) {
    throw new Error(`${name} must be a whole number of at least ${min}`);
  }
  return Number(raw);
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export async function createTopic(ctx: ConsoleContext, form: URLSearchParams) {
  const name = (form.get('name') ?? '').trim();
  if (name === '') throw new Error('a topic name is required');
  const configs = new Map<string, string>();
  for (const line of lines(form.get('configs') ?? '')) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`configs: expected key=value, not '${line}'`);
    configs.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  await ctx.admin.createTopic({
    name,
    partitions: formInt(form, 'partitions', 1) ?? -1,
    replicationFactor: formInt(form, 'replicationFactor', 1) ?? -1,
    configs,
  });
  return { location: path('topics', name), ok: `Created topic ${name}.` };
}

export async function deleteTopic(ctx: ConsoleContext, name: string, form: URLSearchParams) {
  if (form.get('confirm') !== name) throw new Error(`type the topic's name (${name}) to delete it`);
  await ctx.admin.deleteTopic(name);
  return { location: '/topics', ok: `Deleted topic ${name}.` };
}

export async function addPartitions(ctx: ConsoleContext, name: string, form: URLSearchParams) {
  const count = formInt(form, 'count', 1);
  if (count === null) throw new Error('the new partition count is required');
  await ctx.admin.createPartitions(name, count);
  return { location: path('topics', name), ok: `Topic ${name} now has ${count} partitions.` };
}

export async function setConfig(ctx: ConsoleContext, name: string, form: URLSearchParams) {
  const key = (form.get('name') ?? '').trim();
  if (key === '') throw new Error('a config name is required');
  const remove = form.get('op') === 'delete';
  const value = form.get('value') ?? '';
  await alterConfigs(
    ctx.admin.client,
    { type: 'topic', name },
    remove ? { set: new Map(), delete: [key] } : { set: new Map([[key, value]]), delete: [] },
  );
  const ok = remove ? `Reset ${key} to its default.` : `Set ${key} = ${value}.`;
  return { location: `${path('topics', name)}#configs`, ok };
}

export async function produce(ctx: ConsoleContext, name: string, form: URLSearchParams) {
  const [topic] = await ctx.admin.describeTopics([name]);
  const headers = lines(form.get('headers') ?? '').map((l) => {
    const colon = l.indexOf(':');
    if (colon <= 0) throw new Error(`headers: expected name: value, not '${l}'`);
    return { key: l.slice(0, colon).trim(), value: Buffer.from(l.slice(colon + 1).trim()) };
  });
  const key = form.get('key') ?? '';
  const partition = formInt(form, 'partition', 0);
  const producer = new TopicProducer(ctx.admin.client, topic as TopicMetadata, {
    acks: -1,
    compression: 'none',
  });
  await producer.add({
    key: key === '' ? null : Buffer.from(key),
    value: Buffer.from(form.get('value') ?? ''),
    headers,
    ...(partition === null ? {} : { partition }),
  });
  await producer.flush();
  const written = [...producer.written][0];
  if (written === undefined) throw new Error('the broker acknowledged nothing');
  const [p, w] = written;
  const query = `?mode=offset&partition=${p}&offset=${w.firstOffset}&count=1`;
  return {
    location: `${path('topics', name, 'messages')}${query}`,
    ok: `Produced to partition ${p} at offset ${w.firstOffset}.`,
  };
}

function resetTarget(form: URLSearchParams): ResetTarget {
  const to = form.get('to');
  const value = (form.get('value') ?? '').trim();
  if (to === 'earliest' || to === 'latest') return { kind: to };
  if (to === 'offset') {
    if (!/^\d+$/.test(value)) throw new Error(`an offset is a whole number, not '${value}'`);
    return { kind: 'offset', n: Number(value) };
  }
  if (to === 'datetime') {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isNaN(ms)) throw new Error(`not a time: '${value}'`);
    return { kind: 'datetime', ms };
  }
  throw new Error('choose earliest, latest, a time or an offset');
}

export async function resetGroup(ctx: ConsoleContext, groupId: string, form: URLSearchParams) {
  const target = resetTarget(form);
  const group = new GroupOffsets(ctx.admin.client, groupId);
  const d = await group.describe();
  if (!resettable(d.state)) throw new Error(notResettableMessage(groupId, d.state));
  const committed = await group.fetchAll();
  const topic = (form.get('topic') ?? '').trim();
  const wanted = new Map<string, number[]>();
  if (topic === '') {
    for (const [t, byPartition] of committed) wanted.set(t, [...byPartition.keys()]);
  } else {
    const [meta] = await ctx.admin.describeTopics([topic], { leaderless: true });
    wanted.set(
      topic,
      (meta?.partitions ?? []).map((p) => p.partition),
    );
  }
  if (wanted.size === 0) throw new Error(`group ${groupId} has no committed offsets to reset`);
  const rows = await planOffsetReset(ctx.admin, wanted, committed, target);
  await commitOffsetReset(ctx.admin, groupId, rows);
  const moved = rows.map((r) => `${r.topic}-${r.partition} → ${r.newOffset}`).join(', ');
  return { location: path('groups', groupId), ok: `Reset offsets: ${moved}.` };
}

export async function deleteGroup(ctx: ConsoleContext, groupId: string) {
  await new GroupOffsets(ctx.admin.client, groupId).delete();
  return { location: '/groups', ok: `Deleted group ${groupId}.` };
}

export async function addAlarm(ctx: ConsoleContext, form: URLSearchParams) {
  const rule = await ctx.alarms.store.add(checkRule(Object.fromEntries(form)));
  return {
    location: '/alarms',
    ok: `Added an alarm on group ${rule.group}, topic ${rule.topic}.`,
  };
}

export async function removeAlarm(ctx: ConsoleContext, id: string) {
  if (!(await ctx.alarms.store.remove(id))) throw new Error(`no alarm ${id}`);
  ctx.alarms.forget(id);
  return { location: '/alarms', ok: 'Removed the alarm.' };
}
