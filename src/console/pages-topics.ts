/** The cluster overview, the topic list and a topic's partitions and configs. */
import { ApiKey, describeConfigs, EARLIEST, LATEST, type TopicMetadata } from '../admin/index.ts';
import type { ConsoleContext } from './context.ts';
import { formatCount, formatRate, formatSize } from './format.ts';
import { type Html, html, path } from './html.ts';
import { facts, type Page, postForm, sparkline, table } from './layout.ts';

/** Kafka's health of a partition: offline without a leader, under-replicated short of ISR. */
function health(topics: readonly TopicMetadata[]) {
  let partitions = 0;
  let underReplicated = 0;
  let offline = 0;
  for (const t of topics) {
    for (const p of t.partitions) {
      partitions++;
      if (p.leader < 0) offline++;
      else if (p.isr.length < p.replicas.length) underReplicated++;
    }
  }
  return { partitions, underReplicated, offline };
}

function apiRange(versions: { broker: ReadonlyMap<number, { maxVersion: number }> }, key: number) {
  const r = versions.broker.get(key);
  return r === undefined ? '–' : `v${r.maxVersion}`;
}

export async function overviewPage(ctx: ConsoleContext): Promise<Page> {
  const [cluster, topics] = await Promise.all([
    ctx.admin.describeCluster(),
    ctx.admin.listTopics(),
  ]);
  await ctx.sampler.ready();
  const h = health(topics);
  const brokers = [...cluster.brokers].sort((a, b) => a.nodeId - b.nodeId);
  const rates = ctx.sampler.totalRates;
  const busiest = topics
    .map((t) => ({ name: t.name, rates: ctx.sampler.rates(t.name) }))
    .filter((t) => t.rates.length > 0)
    .sort((a, b) => (b.rates.at(-1) ?? 0) - (a.rates.at(-1) ?? 0))
    .slice(0, 5);
  const firing = ctx.alarms.store.rules.filter(
    (r) => ctx.alarms.status(r.id).state.phase === 'firing',
  );
  const v = cluster.versions;
  const body = html`<h1>Cluster</h1>
${firing.length === 0 ? '' : html`<p class="flash error"><a href="/alarms">${firing.length} lag alarm(s) firing</a></p>`}
${facts([
  ['Cluster id', cluster.clusterId ?? '(none)'],
  ['Controller', String(cluster.controllerId)],
  ['Brokers', String(brokers.length)],
  ['Topics', String(topics.length)],
  ['Partitions', formatCount(h.partitions)],
  [
    'Under-replicated',
    html`<span class="${h.underReplicated > 0 ? 'bad' : 'good'}">${h.underReplicated}</span>`,
  ],
  ['Offline', html`<span class="${h.offline > 0 ? 'bad' : 'good'}">${h.offline}</span>`],
  [
    'Protocol',
    `${v.broker.size} APIs; Produce ${apiRange(v, ApiKey.Produce)}, Fetch ${apiRange(v, ApiKey.Fetch)}, Metadata ${apiRange(v, ApiKey.Metadata)}`,
  ],
])}
<h2>Throughput</h2>
<p class="throughput">${sparkline(rates, 'messages per second, all topics')} <strong>${formatRate(rates.at(-1) ?? 0)}</strong> messages in, all topics (sampled every ${ctx.sampler.intervalMs / 1000} s)${ctx.sampler.lastError === null ? '' : html` <span class="bad">sampling failed: ${ctx.sampler.lastError}</span>`}</p>
${table(
  ['Topic', 'Rate', 'Last'],
  busiest.map((t) => [
    html`<a href="${path('topics', t.name)}">${t.name}</a>`,
    sparkline(t.rates, `${t.name} messages per second`),
    formatRate(t.rates.at(-1) ?? 0),
  ]),
  { empty: 'No rates yet: they appear after two samples.' },
)}
<h2>Brokers</h2>
${table(
  ['Id', 'Host', 'Port', 'Rack', 'Controller'],
  brokers.map((b) => [
    String(b.nodeId),
    b.host,
    String(b.port),
    b.rack ?? '',
    b.nodeId === cluster.controllerId ? 'yes' : '',
  ]),
)}`;
  return { title: 'Cluster', section: 'overview', body };
}

export async function topicsPage(ctx: ConsoleContext, search: string): Promise<Page> {
  const topics = await ctx.admin.listTopics();
  await ctx.sampler.ready();
  const needle = search.trim().toLowerCase();
  const shown =
    needle === '' ? topics : topics.filter((t) => t.name.toLowerCase().includes(needle));
  const rows = shown.map((t) => topicRow(ctx, t));
  const body = html`<h1>Topics</h1>
<form method="get" action="/topics" class="search" role="search"><input type="search" name="q" value="${search}" placeholder="Search topics" aria-label="Search topics" data-filter="#topics"><button>Search</button></form>
<p class="muted">${shown.length} of ${topics.length} topics. Sizes and rates from the sample of ${new Date(ctx.sampler.sampledAtMs).toISOString()}.</p>
${table(['Topic', 'Partitions', 'Replicas', 'Messages', 'Size', 'Rate', ''], rows, { id: 'topics', empty: 'No topics.' })}
<h2>Create a topic</h2>
${postForm(
  '/topics',
  ctx.csrf,
  html`<label>Name <input name="name" required pattern="[a-zA-Z0-9._-]+" maxlength="249"></label>
<label>Partitions <input name="partitions" type="number" min="1" placeholder="broker default"></label>
<label>Replication factor <input name="replicationFactor" type="number" min="1" placeholder="broker default"></label>
<label class="wide">Configs, one key=value a line <textarea name="configs" rows="3" placeholder="retention.ms=86400000"></textarea></label>
<button>Create topic</button>`,
  { className: 'grid' },
)}`;
  return { title: 'Topics', section: 'topics', body };
}

function topicRow(ctx: ConsoleContext, t: TopicMetadata): readonly (Html | string)[] {
  const sample = ctx.sampler.topic(t.name);
  const rates = ctx.sampler.rates(t.name);
  return [
    html`<a href="${path('topics', t.name)}">${t.name}</a>${t.internal ? html` <span class="badge">internal</span>` : ''}`,
    String(t.partitions.length),
    String(t.partitions[0]?.replicas.length ?? 0),
    sample === undefined ? '–' : formatCount(sample.messages),
    sample === undefined ? '–' : formatSize(sample.bytes),
    rates.length === 0 ? '–' : formatRate(rates.at(-1) ?? 0),
    sparkline(rates, `${t.name} messages per second`),
  ];
}

export async function topicPage(ctx: ConsoleContext, name: string): Promise<Page> {
  const [topic] = await ctx.admin.describeTopics([name], { leaderless: true });
  const meta = topic as TopicMetadata;
  const led = meta.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
  const [earliest, latest, configs] = await Promise.all([
    ctx.admin.listOffsets(name, led, EARLIEST),
    ctx.admin.listOffsets(name, led, LATEST),
    describeConfigs(ctx.admin.client, { type: 'topic', name }, { documentation: true }),
  ]);
  const partitionRows = meta.partitions.map((p) => {
    const low = earliest.get(p.partition);
    const high = latest.get(p.partition);
    const short = p.leader >= 0 && p.isr.length < p.replicas.length;
    return [
      String(p.partition),
      p.leader < 0 ? html`<span class="bad">none</span>` : String(p.leader),
      p.replicas.join(', '),
      html`<span class="${short ? 'bad' : ''}">${p.isr.join(', ')}</span>`,
      low === undefined ? '–' : String(low),
      high === undefined ? '–' : String(high),
      low === undefined || high === undefined ? '–' : formatCount(high - low),
    ];
  });
  const base = path('topics', name);
  const body = html`<h1>Topic <span class="name">${name}</span></h1>
<p class="actions"><a class="button" href="${base}/messages">Messages</a> <a class="button" href="${base}/produce">Produce</a></p>
${facts([
  ['Topic id', meta.topicId],
  ['Partitions', String(meta.partitions.length)],
  ['Internal', meta.internal ? 'yes' : 'no'],
])}
<h2>Partitions</h2>
${table(['Partition', 'Leader', 'Replicas', 'In sync', 'Earliest', 'Log end', 'Messages'], partitionRows, { id: 'partitions' })}
<h2>Add partitions</h2>
${postForm(
  `${base}/partitions`,
  ctx.csrf,
  html`<label>New total <input name="count" type="number" min="${meta.partitions.length + 1}" value="${meta.partitions.length + 1}" required></label> <button>Add partitions</button>`,
  { className: 'inline' },
)}
<h2>Configs</h2>
${configTable(ctx, base, configs)}
<h2>Delete</h2>
${postForm(
  `${base}/delete`,
  ctx.csrf,
  html`<label>Type the topic's name to delete it and all its records <input name="confirm" required autocomplete="off"></label> <button class="danger">Delete topic</button>`,
  { className: 'inline', confirm: `Delete topic ${name} and all its records?` },
)}`;
  return { title: `Topic ${name}`, section: 'topics', body };
}

function configTable(
  ctx: ConsoleContext,
  base: string,
  configs: Awaited<ReturnType<typeof describeConfigs>>,
): Html {
  const rows = configs.map((c) => {
    const doc =
      c.documentation === undefined
        ? ''
        : html`<details class="doc"><summary>about</summary><p>${c.documentation}</p></details>`;
    const value = c.sensitive ? '(sensitive)' : (c.value ?? '');
    const edit = c.readOnly
      ? html`<code>${value}</code>`
      : postForm(
          `${base}/configs`,
          ctx.csrf,
          html`<input type="hidden" name="name" value="${c.name}"><input name="value" value="${value}" aria-label="${c.name}"> <button name="op" value="set">Set</button>${c.isDefault ? '' : html` <button name="op" value="delete" class="secondary">Reset</button>`}`,
          { className: 'inline config' },
        );
    return [html`<code>${c.name}</code>${doc}`, edit, c.source];
  });
  return table(['Config', 'Value', 'Source'], rows, { id: 'configs' });
}
