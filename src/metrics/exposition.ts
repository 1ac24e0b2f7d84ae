/**
 * The Prometheus text exposition format, version 0.0.4: what `/metrics` answers.
 *
 *   # HELP <name> <help, with \\ and newline escaped>
 *   # TYPE <name> counter|gauge|summary|histogram|untyped
 *   <name>{<label>="<value, with \\, " and newline escaped>",...} <value>
 *
 * Every family is declared once with its HELP and TYPE lines, followed by all its samples; a
 * summary's samples are `<name>{quantile="q"}`, `<name>_sum` and `<name>_count`. Values are Go's
 * float spellings: NaN, +Inf, -Inf, else JavaScript's shortest round-trip form.
 * A family declared without samples is left out (Prometheus takes an empty family as absent).
 */
import { assert } from '../common/assert.ts';

export type MetricType = 'counter' | 'gauge' | 'summary' | 'histogram' | 'untyped';

/** Label names to values, in the order they are written. */
export type Labels = ReadonlyArray<readonly [string, string]>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** Sample names a family of each type may hold, besides its own name. */
function sampleAllowed(family: string, type: MetricType, name: string): boolean {
  if (name === family) return true;
  if (type === 'summary') return name === `${family}_sum` || name === `${family}_count`;
  if (type === 'histogram') {
    return name === `${family}_sum` || name === `${family}_count` || name === `${family}_bucket`;
  }
  return false;
}

/** Labels as a sample writes them: `{k="v",...}`, or nothing for no labels. */
export function labelText(labels: Labels): string {
  if (labels.length === 0) return '';
  const parts: string[] = [];
  for (const [k, v] of labels) {
    assert(LABEL_NAME.test(k) && !k.startsWith('__'), 'a label name is [a-zA-Z_][a-zA-Z0-9_]*');
    parts.push(`${k}="${escapeLabelValue(v)}"`);
  }
  return `{${parts.join(',')}}`;
}

/** Builds one exposition: families in the order declared, each with its samples. */
export class Exposition {
  readonly #declared = new Set<string>();
  readonly #lines: string[] = [];
  #family = '';
  #type: MetricType = 'untyped';
  #header: string | null = null;

  /** Starts a family; every sample until the next family belongs to it. */
  family(name: string, type: MetricType, help: string): this {
    assert(NAME.test(name), 'a metric name is [a-zA-Z_:][a-zA-Z0-9_:]*');
    assert(!this.#declared.has(name), 'a family is declared once');
    this.#declared.add(name);
    this.#family = name;
    this.#type = type;
    this.#header = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}`;
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    return this.sampleWith(name, labelText(labels), value);
  }

  /**
   * A sample whose labels were written by labelText: a family of many samples keeps each
   * one's label text between scrapes instead of escaping it again every time.
   */
  sampleWith(name: string, labels: string, value: number): this {
    assert(this.#family !== '', 'a sample follows its family');
    assert(sampleAllowed(this.#family, this.#type, name), 'a sample belongs to its family');
    if (this.#header !== null) {
      this.#lines.push(this.#header);
      this.#header = null;
    }
    this.#lines.push(`${name}${labels} ${formatValue(value)}`);
    return this;
  }

  /** A family of one unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number): this {
    return this.family(name, type, help).sample(name, [], value);
  }

  /** The exposition so far, each line ending in a newline. */
  text(): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`;
  }
}
