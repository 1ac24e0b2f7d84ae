/**
 * Lag alarms: a rule "group G on topic T lag > N for M minutes" fires when the group's total
 * lag on the topic has stayed above N for M minutes, and clears when it is N or less again. Both
 * transitions are posted to the rule's webhook as JSON. Rules are kept in a JSON file
 * ({"version":1,"rules":[...]}, written whole and renamed into place); states live in memory.
 *
 * stepAlarm() is the state machine, pure and tested alone; AlarmMonitor runs it on a timer
 * against the cluster and delivers the events.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { type Admin, GroupOffsets, LATEST } from '../admin/index.ts';

export interface AlarmRule {
  readonly id: string;
  readonly group: string;
  readonly topic: string;
  /** Fires when the lag is above this many records... */
  readonly threshold: number;
  /** ...for at least this long (0: at the first check above it). */
  readonly minutes: number;
  readonly webhookUrl: string;
}

export type AlarmPhase = 'ok' | 'pending' | 'firing';
export type AlarmEventKind = 'fired' | 'cleared';

export interface AlarmState {
  readonly phase: AlarmPhase;
  /** When the lag was first seen above the threshold in this stretch (pending or firing). */
  readonly aboveSinceMs: number | null;
  /** The last lag measured; null when the group has no committed offset on the topic. */
  readonly lag: number | null;
  readonly checkedAtMs: number | null;
}

export const INITIAL_STATE: AlarmState = {
  phase: 'ok',
  aboveSinceMs: null,
  lag: null,
  checkedAtMs: null,
};

/**
 * The next state after measuring `lag` at `nowMs`, and the event to post, if any. An unknown lag
 * (null) keeps the phase: the alarm neither fires nor clears on what it cannot see.
 */
export function stepAlarm(
  rule: AlarmRule,
  state: AlarmState,
  lag: number | null,
  nowMs: number,
): { state: AlarmState; event: AlarmEventKind | null } {
  const checked = { lag, checkedAtMs: nowMs };
  if (lag === null) return { state: { ...state, ...checked }, event: null };
  if (lag <= rule.threshold) {
    const event = state.phase === 'firing' ? 'cleared' : null;
    return { state: { phase: 'ok', aboveSinceMs: null, ...checked }, event };
  }
  const since = state.aboveSinceMs ?? nowMs;
  if (state.phase === 'firing') return { state: { ...state, ...checked }, event: null };
  if (nowMs - since >= rule.minutes * 60_000) {
    return { state: { phase: 'firing', aboveSinceMs: since, ...checked }, event: 'fired' };
  }
  return { state: { phase: 'pending', aboveSinceMs: since, ...checked }, event: null };
}

/** The JSON posted to a webhook (with `text`, so chat webhooks show a line). */
export function webhookBody(
  rule: AlarmRule,
  event: AlarmEventKind,
  lag: number,
  nowMs: number,
): object {
  const verb = event === 'fired' ? 'above' : 'back to at most';
  return {
    event,
    alarm: {
      id: rule.id,
      group: rule.group,
      topic: rule.topic,
      threshold: rule.threshold,
      minutes: rule.minutes,
    },
    lag,
    at: new Date(nowMs).toISOString(),
    text: `Tributary lag alarm ${event}: group ${rule.group} on topic ${rule.topic} has lag ${lag}, ${verb} ${rule.threshold}`,
  };
}

/** A rule's fields as typed in a form or read from the file, checked; throws with the reason. */
export function checkRule(input: Record<string, unknown>): Omit<AlarmRule, 'id'> {
  const text = (name: string): string => {
    const v = input[name];
    if (typeof v !== 'string' || v.trim() === '') throw new Error(`${name} is required`);
    return v.trim();
  };
  const number = (name: string): number => {
    const v = input[name];
    const n = typeof v === 'number' ? v : Number(typeof v === 'string' ? v.trim() : Number.NaN);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of at least 0`);
    return n;
  };
  const threshold = number('threshold');
  if (!Number.isSafeInteger(threshold)) throw new Error('threshold must be a whole number');
  const webhookUrl = text('webhookUrl');
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new Error(`webhookUrl is not a URL: ${webhookUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error('webhookUrl must be http:// or https://');
  }
  return {
    group: text('group'),
    topic: text('topic'),
    threshold,
    minutes: number('minutes'),
    webhookUrl,
  };
}

/** The rules file: read at start (missing: no rules), written whole on every change. */
export class AlarmStore {
  readonly file: string;
  #rules: AlarmRule[] = [];

  constructor(file: string) {
    this.file = file;
  }

  get rules(): readonly AlarmRule[] {
    return this.#rules;
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const parsed = JSON.parse(text) as { version?: unknown; rules?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.rules)) {
      throw new Error(`${this.file}: expected {"version":1,"rules":[...]}`);
    }
    this.#rules = parsed.rules.map((r: Record<string, unknown>, i: number) => {
      const id = r['id'];
      if (typeof id !== 'string' || id === '') throw new Error(`${this.file}: rule ${i} has no id`);
      try {
        return { id, ...checkRule(r) };
      } catch (err) {
        throw new Error(`${this.file}: rule ${id}: ${(err as Error).message}`);
      }
    });
  }

  async add(rule: Omit<AlarmRule, 'id'>): Promise<AlarmRule> {
    const full = { id: randomBytes(6).toString('hex'), ...rule };
    await this.#save([...this.#rules, full]);
    return full;
  }

  async remove(id: string): Promise<boolean> {
    const rules = this.#rules.filter((r) => r.id !== id);
    if (rules.length === this.#rules.length) return false;
    await this.#save(rules);
    return true;
  }

  async #save(rules: AlarmRule[]): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ version: 1, rules }, null, 2)}\n`);
    await rename(tmp, this.file);
    this.#rules = rules;
  }
}

/** The last delivery of a rule's webhook. */
export interface Delivery {
  readonly event: AlarmEventKind;
  readonly atMs: number;
  /** null when the receiver answered 2xx. */
  readonly error: string | null;
}

export interface AlarmStatus {
  readonly state: AlarmState;
  readonly delivery: Delivery | null;
  /** Why the last check could not measure the lag. */
  readonly error: string | null;
}

export interface AlarmMonitorOptions {
  readonly intervalMs: number;
  readonly webhookTimeoutMs: number;
  readonly now?: () => number;
}

/** Checks every rule on a timer and posts the transitions; a failed post is retried next check. */
export class AlarmMonitor {
  readonly store: AlarmStore;
  readonly #admin: Admin;
  readonly #options: AlarmMonitorOptions;
  readonly #status = new Map<string, AlarmStatus>();
  /** Events whose post failed, by rule, retried at the next check. */
  readonly #undelivered = new Map<string, { event: AlarmEventKind; lag: number; atMs: number }>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(admin: Admin, store: AlarmStore, options: AlarmMonitorOptions) {
    this.#admin = admin;
    this.store = store;
    this.#options = options;
  }

  status(id: string): AlarmStatus {
    return this.#status.get(id) ?? { state: INITIAL_STATE, delivery: null, error: null };
  }

  start(): void {
    const tick = () => {
      this.#running = this.checkAll().finally(() => {
        this.#running = null;
        if (this.#timer !== null) this.#timer = setTimeout(tick, this.#options.intervalMs);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  forget(id: string): void {
    this.#status.delete(id);
    this.#undelivered.delete(id);
  }

  /** One check of every rule. Never throws: failures are kept in each rule's status. */
  async checkAll(): Promise<void> {
    await Promise.all(this.store.rules.map((rule) => this.#check(rule)));
  }

  async #check(rule: AlarmRule): Promise<void> {
    const now = (this.#options.now ?? Date.now)();
    const previous = this.status(rule.id);
    let lag: number | null;
    let error: string | null = null;
    try {
      lag = await this.#lag(rule);
    } catch (err) {
      lag = null;
      error = (err as Error).message;
    }
    const { state, event } = stepAlarm(rule, previous.state, lag, now);
    this.#status.set(rule.id, { state, delivery: previous.delivery, error });
    if (event !== null && lag !== null) this.#undelivered.set(rule.id, { event, lag, atMs: now });
    const pending = this.#undelivered.get(rule.id);
    if (pending !== undefined) await this.#deliver(rule, pending);
  }

  /** The group's total lag on the topic, over the partitions it has committed offsets for. */
  async #lag(rule: AlarmRule): Promise<number | null> {
    const [topic] = await this.#admin.describeTopics([rule.topic], { leaderless: true });
    const partitions = (topic?.partitions ?? []).map((p) => p.partition);
    const committed = await new GroupOffsets(this.#admin.client, rule.group).fetch(
      rule.topic,
      partitions,
    );
    const ends = await this.#admin.listOffsets(rule.topic, partitions, LATEST);
    let lag: number | null = null;
    for (const [p, offset] of committed) {
      if (offset < 0) continue;
      lag = (lag ?? 0) + Math.max(0, (ends.get(p) ?? offset) - offset);
    }
    return lag;
  }

  async #deliver(
    rule: AlarmRule,
    pending: { event: AlarmEventKind; lag: number; atMs: number },
  ): Promise<void> {
    let error: string | null = null;
    try {
      const res = await fetch(rule.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhookBody(rule, pending.event, pending.lag, pending.atMs)),
        signal: AbortSignal.timeout(this.#options.webhookTimeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).message;
    }
    if (error === null) this.#undelivered.delete(rule.id);
    const status = this.status(rule.id);
    const delivery = { event: pending.event, atMs: (this.#options.now ?? Date.now)(), error };
    this.#status.set(rule.id, { ...status, delivery });
  }
}
