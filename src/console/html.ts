/**
 * HTML built by tagged templates that escape every interpolated value unless it is already
 * HTML made here. Anything from the cluster (topic names, group ids, record keys and values,
 * broker errors) goes through escapeHtml; nothing reaches a page unescaped by mistake.
 */

/** A fragment of HTML that is safe to insert as it is. */
export class Html {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  toString(): string {
    return this.text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** What a template may interpolate: text (escaped), HTML, or lists of either. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map((v) => render(v as HtmlValue)).join('');
  return escapeHtml(String(value));
}

/** `html\`<td>${name}</td>\``: the values are escaped, the literal parts are kept. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return new Html(out);
}

/** Trusted HTML written in this program (never text from outside). */
export function raw(text: string): Html {
  return new Html(text);
}

/** A path with each segment percent-encoded: `path('topics', name)` → `/topics/a%2Fb`. */
export function path(...segments: readonly (string | number)[]): string {
  return `/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}
