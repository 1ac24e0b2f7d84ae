/**
 * The console's HTTP server (node:http): server-rendered pages, POST forms checked against a
 * per-process CSRF token and answered with a redirect (post/redirect/get, with the outcome in
 * the query string), two static files, and a Host check so that a page elsewhere cannot reach a
 * loopback console through DNS rebinding. Every failure, the broker's included, is shown on a
 * page; none ends the process.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectionError, KafkaError } from '../admin/index.ts';
import * as actions from './actions.ts';
import * as aclActions from './actions-acls.ts';
import * as securityActions from './actions-security.ts';
import type { ConsoleContext } from './context.ts';
import { html } from './html.ts';
import {
  type Flash,
  layout,
  type Page,
  progressStep,
  type StreamedPage,
  streamFrame,
} from './layout.ts';
import { aclsPage } from './pages-acls.ts';
import { alarmsPage, groupPage, groupsPage } from './pages-groups.ts';
import { messagesPage, producePage, recordDocument } from './pages-messages.ts';
import { quotasPage, usersPage } from './pages-security.ts';
import { overviewPage, topicPage, topicsPage } from './pages-topics.ts';

/** A fresh CSRF token for this process. */
export function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

type Params = readonly string[];
type GetHandler = (
  ctx: ConsoleContext,
  p: Params,
  q: URLSearchParams,
) => Promise<Page | StreamedPage | Raw>;
type PostHandler = (
  ctx: ConsoleContext,
  p: Params,
  form: URLSearchParams,
) => Promise<actions.ActionResult>;

interface Raw {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

const SEG = '([^/]+)';
const GET_ROUTES: readonly [RegExp, GetHandler][] = [
  [/^\/$/, (ctx) => firstSample(ctx, 'Cluster', 'overview', () => overviewPage(ctx))],
  [
    /^\/topics$/,
    (ctx, _p, q) => firstSample(ctx, 'Topics', 'topics', () => topicsPage(ctx, q.get('q') ?? '')),
  ],
  [new RegExp(`^/topics/${SEG}$`), (ctx, [t]) => topicPage(ctx, t as string)],
  [new RegExp(`^/topics/${SEG}/messages$`), (ctx, [t], q) => messagesPage(ctx, t as string, q)],
  [new RegExp(`^/topics/${SEG}/messages/(\\d+)/(\\d+)\\.json$`), recordRoute],
  [new RegExp(`^/topics/${SEG}/produce$`), (ctx, [t]) => producePage(ctx, t as string)],
  [/^\/groups$/, (ctx) => groupsPage(ctx)],
  [new RegExp(`^/groups/${SEG}$`), (ctx, [g]) => groupPage(ctx, g as string)],
  [/^\/alarms$/, async (ctx) => alarmsPage(ctx)],
  [/^\/users$/, (ctx) => usersPage(ctx)],
  [/^\/quotas$/, (ctx) => quotasPage(ctx)],
  [/^\/acls$/, (ctx, _p, q) => aclsPage(ctx, q)],
];

/** Each POST route, with the page its errors are shown on. */
const POST_ROUTES: readonly [RegExp, PostHandler, (p: Params) => string][] = [
  [/^\/topics$/, (ctx, _p, f) => actions.createTopic(ctx, f), () => '/topics'],
  [
    new RegExp(`^/topics/${SEG}/delete$`),
    (ctx, [t], f) => actions.deleteTopic(ctx, t as string, f),
    topicBack,
  ],
  [
    new RegExp(`^/topics/${SEG}/partitions$`),
    (ctx, [t], f) => actions.addPartitions(ctx, t as string, f),
    topicBack,
  ],
  [
    new RegExp(`^/topics/${SEG}/configs$`),
    (ctx, [t], f) => actions.setConfig(ctx, t as string, f),
    topicBack,
  ],
  [
    new RegExp(`^/topics/${SEG}/produce$`),
    (ctx, [t], f) => actions.produce(ctx, t as string, f),
    ([t]) => `/topics/${encodeURIComponent(t as string)}/produce`,
  ],
  [
    new RegExp(`^/groups/${SEG}/reset$`),
    (ctx, [g], f) => actions.resetGroup(ctx, g as string, f),
    groupBack,
  ],
  [
    new RegExp(`^/groups/${SEG}/delete$`),
    (ctx, [g]) => actions.deleteGroup(ctx, g as string),
    groupBack,
  ],
  [/^\/alarms$/, (ctx, _p, f) => actions.addAlarm(ctx, f), () => '/alarms'],
  [
    new RegExp(`^/alarms/${SEG}/delete$`),
    (ctx, [id]) => actions.removeAlarm(ctx, id as string),
    () => '/alarms',
  ],
  [/^\/users$/, (ctx, _p, f) => securityActions.saveUser(ctx, f), () => '/users'],
  [
    new RegExp(`^/users/${SEG}/delete$`),
    (ctx, [u], f) => securityActions.removeUser(ctx, u as string, f),
    () => '/users',
  ],
  [/^\/quotas$/, (ctx, _p, f) => securityActions.setQuota(ctx, f), () => '/quotas'],
  [/^\/quotas\/delete$/, (ctx, _p, f) => securityActions.deleteQuota(ctx, f), () => '/quotas'],
  [/^\/acls$/, (ctx, _p, f) => aclActions.addAcl(ctx, f), () => '/acls'],
  [/^\/acls\/delete$/, (ctx, _p, f) => aclActions.removeAcl(ctx, f), () => '/acls'],
];

function topicBack([t]: Params): string {
  return `/topics/${encodeURIComponent(t as string)}`;
}

function groupBack([g]: Params): string {
  return `/groups/${encodeURIComponent(g as string)}`;
}

async function recordRoute(ctx: ConsoleContext, [t, p, o]: Params): Promise<Raw> {
  const doc = await recordDocument(ctx, t as string, Number(p), Number(o));
  if (doc === null) {
    return {
      status: 404,
      type: 'application/json',
      body: '{"error":"no record at that offset"}\n',
    };
  }
  return { status: 200, type: 'application/json; charset=utf-8', body: `${doc}\n` };
}

/**
 * A page that needs the sampler's sizes and rates: streamed with a progress line while the
 * console takes its first sample (with many partitions that takes a while), at once after.
 */
async function firstSample(
  ctx: ConsoleContext,
  title: string,
  section: Page['section'],
  build: () => Promise<Page>,
): Promise<Page | StreamedPage> {
  if (ctx.sampler.sampledAtMs > 0) return build();
  // A cluster that cannot be reached (a refused login, a TLS failure) fails here, before the
  // page starts, and gets the error page with its status.
  await ctx.admin.listTopics();
  return {
    title,
    section,
    head: html``,
    working: 'Taking the first sample of every partition (offsets and sizes)…',
    rest: async () => (await build()).body,
  };
}

/** The least time between two progress steps a streamed page sends (fixed, not a limit). */
export const PROGRESS_EVERY_MS = 200;

const STATIC_TYPES: Readonly<Record<string, string>> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
};

/** The static files, read once at start from src/console/static (shipped in the package). */
function loadStatic(): Map<string, string> {
  const dir = new URL('../../../src/console/static/', import.meta.url);
  const out = new Map<string, string>();
  for (const name of Object.keys(STATIC_TYPES)) {
    out.set(name, readFileSync(new URL(name, dir), 'utf8'));
  }
  return out;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
}

export class ConsoleServer {
  readonly #ctx: ConsoleContext;
  readonly #static = loadStatic();
  readonly #server: Server;
  #loopback = true;
  #label = '';
  readonly #login: Login | undefined;

  constructor(ctx: ConsoleContext) {
    this.#ctx = ctx;
    const sasl = ctx.admin.client.options.sasl;
    this.#login =
      sasl === undefined ? undefined : { username: sasl.username, mechanism: sasl.mechanism };
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${(err as Error).message}\n`);
      });
    });
  }

  /** Listens; resolves with the console's URL. */
  async listen(options: ListenOptions): Promise<string> {
    this.#loopback = isLoopback(options.host);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(options.port, options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const a = this.#server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    this.#label = this.#ctx.admin.client.options.bootstrapServers.join(',');
    return `http://${host}:${a.port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (this.#loopback && !isLoopbackHost(req.headers.host ?? '')) {
      return send(res, 421, 'text/plain', 'this console answers only to a loopback host name\n');
    }
    const url = new URL(req.url ?? '/', 'http://console');
    let pathname: string;
    try {
      pathname = decodeURI(url.pathname);
    } catch {
      return send(res, 400, 'text/plain', 'bad path\n');
    }
    if (req.method === 'GET' || req.method === 'HEAD') return this.#get(url, res);
    if (req.method === 'POST') return this.#post(req, url, res);
    res.setHeader('allow', 'GET, HEAD, POST');
    return send(res, 405, 'text/plain', `method ${req.method} not allowed on ${pathname}\n`);
  }

  async #get(url: URL, res: ServerResponse): Promise<void> {
    const file = /^\/static\/([a-z.]+)$/.exec(url.pathname)?.[1];
    if (file !== undefined) {
      const body = this.#static.get(file);
      if (body === undefined) return send(res, 404, 'text/plain', 'not found\n');
      res.setHeader('cache-control', 'no-cache');
      return send(res, 200, STATIC_TYPES[file] as string, body);
    }
    const flash: Flash = { ok: url.searchParams.get('ok'), error: url.searchParams.get('error') };
    for (const [pattern, handler] of GET_ROUTES) {
      const m = pattern.exec(url.pathname);
      if (m === null) continue;
      let out: Page | StreamedPage | Raw;
      try {
        out = await handler(this.#ctx, decodeParams(m), url.searchParams);
      } catch (err) {
        out = errorPage(err, this.#login);
      }
      if ('type' in out) return send(res, out.status, out.type, out.body);
      if ('rest' in out) return this.#stream(res, out, flash);
      return send(
        res,
        out.status ?? 200,
        'text/html; charset=utf-8',
        layout(out, flash, this.#label),
      );
    }
    const page = {
      title: 'Not found',
      section: 'overview',
      status: 404,
      body: html`<h1>Not found</h1><p>Nothing at ${url.pathname}.</p>`,
    } as const;
    return send(res, 404, 'text/html; charset=utf-8', layout(page, flash, this.#label));
  }

  /**
   * A streamed page: the frame and `head` at once, then progress steps as the work reports them
   * (at most one per PROGRESS_EVERY_MS), then the rest and the end of the frame. The status is
   * 200 whatever happens after the head; a failure is shown where the rest would be.
   */
  async #stream(res: ServerResponse, page: StreamedPage, flash: Flash): Promise<void> {
    const [before, after] = streamFrame(page, flash, this.#label);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    if (res.req.method === 'HEAD') {
      res.end();
      return;
    }
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    res.write(
      `${before}<div class="progress" id="progress" role="status" aria-live="polite">${progressStep(page.working)}`,
    );
    let lastMs = Date.now();
    const progress = (text: string) => {
      const now = Date.now();
      if (now - lastMs < PROGRESS_EVERY_MS || gone.signal.aborted) return;
      lastMs = now;
      res.write(progressStep(text));
    };
    let rest: string;
    try {
      rest = (await page.rest(progress, gone.signal)).text;
    } catch (err) {
      rest = html`<p class="flash error" role="alert">${describeError(err, this.#login)}</p>`.text;
    }
    res.end(`${progressStep('Done.', true)}</div>\n${rest}${after}`);
  }

  async #post(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    const route = POST_ROUTES.map(([p, h, back]) => [p.exec(url.pathname), h, back] as const).find(
      ([m]) => m !== null,
    );
    if (route === undefined) return send(res, 404, 'text/plain', 'not found\n');
    const [m, handler, back] = route;
    const params = decodeParams(m as RegExpExecArray);
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(await readBody(req, this.#ctx.limits.formBytesMax));
    } catch (err) {
      return send(res, 413, 'text/plain', `${(err as Error).message}\n`);
    }
    if (!sameToken(form.get('_csrf') ?? '', this.#ctx.csrf)) {
      return send(res, 403, 'text/plain', 'missing or wrong CSRF token: reload the page\n');
    }
    let location: string;
    try {
      const r = await handler(this.#ctx, params, form);
      location = withQuery(r.location, 'ok', r.ok);
    } catch (err) {
      location = withQuery(back(params), 'error', describeError(err, this.#login));
    }
    res.writeHead(303, { location });
    res.end();
  }
}

function decodeParams(m: RegExpExecArray): string[] {
  return m.slice(1).map((s) => decodeURIComponent(s));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function withQuery(location: string, key: string, value: string): string {
  const hash = location.indexOf('#');
  const base = hash < 0 ? location : location.slice(0, hash);
  const fragment = hash < 0 ? '' : location.slice(hash);
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}${key}=${encodeURIComponent(value)}${fragment}`;
}

/** Who the console logs in as (from --command-config), to say so when the login fails. */
export interface Login {
  readonly username: string;
  readonly mechanism: string;
}

/** The errors a broker answers a failed SASL login with. */
const LOGIN_ERRORS = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
]);

/**
 * An error as one line: a Kafka error's name and message, or the error's message. A refused
 * login says who the console tried to log in as and how, so that a wrong --command-config reads
 * as one, not as a broken page.
 */
export function describeError(err: unknown, login?: Login): string {
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof KafkaError && LOGIN_ERRORS.has(err.errorName)) {
    const who = login === undefined ? '' : ` as '${login.username}' with ${login.mechanism}`;
    return `cannot log in to the cluster${who} (check the sasl.* settings of --command-config): ${text}`;
  }
  if (err instanceof ConnectionError && /certificate|TLS|SSL/i.test(text)) {
    return `cannot connect to the cluster over TLS (check the ssl.* settings of --command-config): ${text}`;
  }
  return text;
}

function errorPage(err: unknown, login: Login | undefined): Page {
  return {
    title: 'Error',
    section: 'overview',
    status: 502,
    body: html`<h1>Error</h1><p class="flash error" role="alert">${describeError(err, login)}</p><p><a href="/">Back to the cluster</a></p>`,
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new Error(`form larger than ${max} bytes (--form-bytes-max)`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Whether a Host header names a loopback host (any port). */
export function isLoopbackHost(header: string): boolean {
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim().toLowerCase());
  if (m === null) return false;
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  return isLoopback(host);
}
