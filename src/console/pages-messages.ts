/** Message queries on a topic, one record as JSON, and producing a test message. */
import type { ConsumedRecord, TopicMetadata } from '../admin/index.ts';
import { type ConsoleContext, SEARCH_SCAN_DEFAULT } from './context.ts';
import { formatBytes, formatCount, recordJson, VALUE_FORMATS, type ValueFormat } from './format.ts';
import { type Html, html, path } from './html.ts';
import { type Page, postForm, type StreamedPage } from './layout.ts';
import {
  type MessageQuery,
  QUERY_MODES,
  type QueryProgress,
  type QueryResult,
  runQuery,
  SEARCH_FIELDS,
  type SearchField,
} from './query.ts';

const COUNT_DEFAULT = 20;

/** A query from the page's form fields; throws with what is wrong. */
export function parseQuery(
  params: URLSearchParams,
  ctx: ConsoleContext,
): MessageQuery & { format: ValueFormat } {
  const int = (name: string, min: number): number | null => {
    const raw = (params.get(name) ?? '').trim();
    if (raw === '') return null;
    if (!/^-?\d+$/.test(raw) || Number(raw) < min) {
      throw new Error(`${name} must be a whole number of at least ${min}`);
    }
    return Number(raw);
  };
  const mode = (params.get('mode') ?? 'latest') as MessageQuery['mode'];
  if (!QUERY_MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
  const partitionRaw = params.get('partition') ?? '';
  const field = (params.get('field') ?? 'any') as SearchField;
  if (!SEARCH_FIELDS.includes(field)) throw new Error(`unknown field ${field}`);
  const format = (params.get('format') ?? 'text') as ValueFormat;
  if (!VALUE_FORMATS.includes(format)) throw new Error(`unknown format ${format}`);
  const time = (params.get('timestamp') ?? '').trim();
  let timestampMs: number | null = null;
  if (time !== '') {
    timestampMs = /^\d+$/.test(time) ? Number(time) : Date.parse(time);
    if (Number.isNaN(timestampMs)) throw new Error(`timestamp: not a date or ms: ${time}`);
  }
  if (mode === 'timestamp' && timestampMs === null) throw new Error('timestamp is required');
  const needle = params.get('q') ?? '';
  if (mode === 'search' && needle === '') throw new Error('the text to search for is required');
  const count = Math.min(int('count', 1) ?? COUNT_DEFAULT, ctx.limits.messagesMax);
  return {
    partition: partitionRaw === '' || partitionRaw === 'all' ? null : int('partition', 0),
    mode,
    offset: int('offset', 0),
    timestampMs,
    count,
    needle,
    field,
    scanMax: Math.min(int('scan', 1) ?? SEARCH_SCAN_DEFAULT, ctx.limits.searchScanMax),
    format,
  };
}

export async function messagesPage(
  ctx: ConsoleContext,
  name: string,
  params: URLSearchParams,
): Promise<Page | StreamedPage> {
  const [topic] = await ctx.admin.describeTopics([name], { leaderless: true });
  const meta = topic as TopicMetadata;
  let query: ReturnType<typeof parseQuery> | null = null;
  let error: string | null = null;
  try {
    query = parseQuery(params, ctx);
  } catch (err) {
    error = (err as Error).message;
  }
  const head = html`<h1>Messages in <a class="name" href="${path('topics', name)}">${name}</a></h1>
${queryForm(name, meta, params, ctx)}`;
  const title = `Messages in ${name}`;
  if (query !== null && params.has('mode')) {
    // The records read so far are shown as they are read: a search may read a million.
    const q = query;
    return {
      title,
      section: 'topics',
      head,
      working: 'Reading…',
      rest: async (progress, signal) => {
        try {
          const r = await runQuery(ctx.admin, meta, q, {
            deadlineMs: ctx.limits.queryTimeoutMs,
            partitionFetchBytes: ctx.limits.fetchPartitionBytes,
            signal,
            onProgress: (p) => progress(progressText(p, q)),
          });
          return resultView(name, r, q);
        } catch (err) {
          return html`<p class="flash error" role="alert">${(err as Error).message}</p>`;
        }
      },
    };
  }
  const body = html`${head}
${error === null ? '' : html`<p class="flash error" role="alert">${error}</p>`}`;
  return { title, section: 'topics', body, status: error === null ? 200 : 400 };
}

function progressText(p: QueryProgress, q: MessageQuery): string {
  const found = q.mode === 'search' ? `, ${formatCount(p.found)} found` : '';
  return `Read ${formatCount(p.scanned)} of at most ${formatCount(p.toRead)} records${found}…`;
}

function queryForm(
  name: string,
  meta: TopicMetadata,
  params: URLSearchParams,
  ctx: ConsoleContext,
): Html {
  const v = (k: string, d = '') => params.get(k) ?? d;
  const option = (value: string, label: string, current: string) =>
    html`<option value="${value}"${value === current ? html` selected` : ''}>${label}</option>`;
  const partitions = [
    option('all', 'all', v('partition', 'all')),
    ...meta.partitions.map((p) => option(String(p.partition), String(p.partition), v('partition'))),
  ];
  const modeLabels: Record<string, string> = {
    latest: 'latest N',
    offset: 'from an offset',
    timestamp: 'from a time',
    search: 'search',
  };
  return html`<form method="get" action="${path('topics', name, 'messages')}" class="grid query">
<label>Query <select name="mode">${QUERY_MODES.map((m) => option(m, modeLabels[m] ?? m, v('mode', 'latest')))}</select></label>
<label>Partition <select name="partition">${partitions}</select></label>
<label>Offset <input name="offset" type="number" min="0" value="${v('offset')}" placeholder="log start"></label>
<label>Time <input name="timestamp" value="${v('timestamp')}" placeholder="2024-05-01T12:00:00Z or ms"></label>
<label>Count <input name="count" type="number" min="1" max="${ctx.limits.messagesMax}" value="${v('count', String(COUNT_DEFAULT))}"></label>
<label>Search text <input name="q" value="${v('q')}" placeholder="substring"></label>
<label>In <select name="field">${SEARCH_FIELDS.map((f) => option(f, f, v('field', 'any')))}</select></label>
<label>Read at most <input name="scan" type="number" min="1" max="${ctx.limits.searchScanMax}" value="${v('scan', String(SEARCH_SCAN_DEFAULT))}"></label>
<label>Show as <select name="format">${VALUE_FORMATS.map((f) => option(f, f, v('format', 'text')))}</select></label>
<button>Run query</button>
</form>`;
}

function resultView(name: string, r: QueryResult, q: MessageQuery & { format: ValueFormat }) {
  const why: Record<string, string> = {
    count: 'stopped at the count asked for',
    'scan-limit': `stopped after reading ${r.scanned} records (the bound)`,
    deadline: 'stopped at the query deadline',
    cancelled: 'stopped: the page was closed',
  };
  const summary = `${r.records.length} record(s)${q.mode === 'search' ? `, ${r.scanned} read` : ''}${r.stoppedBy === null ? '' : `; ${why[r.stoppedBy]}`}.`;
  return html`<p class="muted" id="result-summary">${summary}</p>
<div id="records">${r.records.map((rec) => recordView(name, rec, q.format))}</div>`;
}

function recordView(name: string, r: ConsumedRecord, format: ValueFormat): Html {
  const json = recordJson(r);
  const link = path('topics', name, 'messages', r.partition, `${r.offset}.json`);
  const headers =
    r.headers.length === 0
      ? ''
      : html`<dl class="headers">${r.headers.map((h) => html`<div><dt>${h.key}</dt><dd>${formatBytes(h.value, 'text')}</dd></div>`)}</dl>`;
  return html`<article class="record" data-partition="${r.partition}" data-offset="${r.offset}">
<header><span>partition <b>${r.partition}</b></span> <span>offset <b>${r.offset}</b></span> <time>${r.timestamp >= 0 ? new Date(r.timestamp).toISOString() : 'no time'}</time>
<span class="record-actions"><a href="${link}">JSON</a> <button type="button" class="copy" data-copy="${json}">Copy JSON</button></span></header>
${r.key === null ? '' : html`<div class="key"><span class="label">key</span> <code>${formatBytes(r.key, 'text')}</code></div>`}
<pre class="value">${formatBytes(r.value, format)}</pre>
${headers}
</article>`;
}

/** One record as a JSON document, or null when there is none at that offset. */
export async function recordDocument(
  ctx: ConsoleContext,
  name: string,
  partition: number,
  offset: number,
): Promise<string | null> {
  const [topic] = await ctx.admin.describeTopics([name], { leaderless: true });
  const r = await runQuery(
    ctx.admin,
    topic as TopicMetadata,
    {
      partition,
      mode: 'offset',
      offset,
      timestampMs: null,
      count: 1,
      needle: '',
      field: 'any',
      scanMax: 1,
    },
    { deadlineMs: ctx.limits.queryTimeoutMs, partitionFetchBytes: ctx.limits.fetchPartitionBytes },
  );
  const rec = r.records[0];
  return rec === undefined || rec.offset !== offset ? null : recordJson(rec);
}

export async function producePage(ctx: ConsoleContext, name: string): Promise<Page> {
  const [topic] = await ctx.admin.describeTopics([name], { leaderless: true });
  const meta = topic as TopicMetadata;
  const options = [
    html`<option value="">by key (or round robin)</option>`,
    ...meta.partitions.map((p) => html`<option value="${p.partition}">${p.partition}</option>`),
  ];
  const body = html`<h1>Produce to <a class="name" href="${path('topics', name)}">${name}</a></h1>
${postForm(
  path('topics', name, 'produce'),
  ctx.csrf,
  html`<label>Partition <select name="partition">${options}</select></label>
<label>Key <input name="key" placeholder="none"></label>
<label class="wide">Value <textarea name="value" rows="6"></textarea></label>
<label class="wide">Headers, one name: value a line <textarea name="headers" rows="2" placeholder="source: console"></textarea></label>
<button>Produce</button>`,
  { className: 'grid' },
)}`;
  return { title: `Produce to ${name}`, section: 'topics', body };
}
