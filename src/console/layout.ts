/**
 * The frame of every page (navigation, messages after an action, the stylesheet and script),
 * and small pieces the pages share: POST forms with the CSRF token, tables, sparklines.
 */
import { SPARK_HEIGHT, SPARK_WIDTH, sparklinePoints } from './format.ts';
import { Html, type HtmlValue, html } from './html.ts';

export type Section = 'overview' | 'topics' | 'groups' | 'alarms' | 'users' | 'quotas' | 'acls';

export interface Page {
  readonly title: string;
  readonly section: Section;
  readonly body: Html;
  /** Status code (200 unless the page reports a failure). */
  readonly status?: number;
}

/**
 * A page whose work can take long (a search over many records, the first sample of a large
 * cluster): `head` is sent at once, then a progress line that `rest` updates as it works, then
 * what `rest` resolves with, all in one streamed (chunked) response that needs no JavaScript.
 */
export interface StreamedPage {
  readonly title: string;
  readonly section: Section;
  /** Shown at once, above the progress line (a form, a heading). */
  readonly head: Html;
  /** What the page starts the progress line with. */
  readonly working: string;
  /** Does the work, calling `progress` with a line of text as it goes; resolves with the rest. */
  readonly rest: (progress: (text: string) => void, signal: AbortSignal) => Promise<Html>;
}

/** Where the streamed part goes in the frame (text from outside is escaped, so it never contains it). */
const STREAM_MARK = '<!--tributary-console-stream-->';

/** The frame of a streamed page, split where the progress line and the rest go. */
export function streamFrame(
  page: StreamedPage,
  flash: Flash,
  clusterLabel: string,
): readonly [string, string] {
  const whole = layout(
    { title: page.title, section: page.section, body: html`${page.head}${new Html(STREAM_MARK)}` },
    flash,
    clusterLabel,
  );
  const at = whole.indexOf(STREAM_MARK);
  return [whole.slice(0, at), whole.slice(at + STREAM_MARK.length)];
}

/**
 * One step of a progress line. The steps of a line are siblings and the stylesheet shows only
 * the last, so each step sent replaces the one before on screen.
 */
export function progressStep(text: string, done = false): string {
  return html`<p class="progress-step${done ? ' progress-done' : ''}">${text}</p>`.text;
}

export interface Flash {
  readonly ok: string | null;
  readonly error: string | null;
}

const NAV: readonly [Section, string, string][] = [
  ['overview', '/', 'Cluster'],
  ['topics', '/topics', 'Topics'],
  ['groups', '/groups', 'Consumer groups'],
  ['alarms', '/alarms', 'Lag alarms'],
  ['users', '/users', 'Users'],
  ['quotas', '/quotas', 'Quotas'],
  ['acls', '/acls', 'ACLs'],
];

export function layout(page: Page, flash: Flash, clusterLabel: string): string {
  const nav = NAV.map(
    ([s, href, label]) =>
      html`<a href="${href}"${s === page.section ? new Html(' aria-current="page"') : ''}>${label}</a>`,
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · Tributary console</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="/">Tributary</a><span class="cluster">${clusterLabel}</span><nav>${nav}</nav></header>
<main>
${flash.ok === null ? '' : html`<p class="flash ok" role="status">${flash.ok}</p>`}
${flash.error === null ? '' : html`<p class="flash error" role="alert">${flash.error}</p>`}
${page.body}
</main>
</body>
</html>
`.text;
}

/** A POST form carrying the CSRF token. `confirm` asks before submitting (with JavaScript). */
export function postForm(
  action: string,
  csrf: string,
  content: HtmlValue,
  options: { readonly confirm?: string; readonly className?: string } = {},
): Html {
  return html`<form method="post" action="${action}"${options.className === undefined ? '' : html` class="${options.className}"`}${options.confirm === undefined ? '' : html` data-confirm="${options.confirm}"`}><input type="hidden" name="_csrf" value="${csrf}">${content}</form>`;
}

/** A table in a box that scrolls sideways on narrow screens (the page itself does not). */
export function table(
  headers: readonly HtmlValue[],
  rows: readonly (readonly HtmlValue[])[],
  options: { readonly id?: string; readonly empty?: string } = {},
): Html {
  if (rows.length === 0 && options.empty !== undefined) {
    return html`<p class="empty">${options.empty}</p>`;
  }
  const head = headers.map((h) => html`<th>${h}</th>`);
  const body = rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`);
  return html`<div class="scroll"><table${options.id === undefined ? '' : html` id="${options.id}"`}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** An inline SVG sparkline of `values` (oldest first). */
export function sparkline(values: readonly number[], label: string): Html {
  if (values.length < 2) return html`<span class="spark-none" title="${label}">–</span>`;
  const points = sparklinePoints(values);
  return html`<svg class="spark" viewBox="0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}" width="${SPARK_WIDTH}" height="${SPARK_HEIGHT}" role="img" aria-label="${label}"><polyline points="${points}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>`;
}

/** A definition list of label/value pairs, for summaries. */
export function facts(items: readonly (readonly [string, HtmlValue])[]): Html {
  return html`<dl class="facts">${items.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}
