/**
 * Client quotas as Kafka's ClientQuotaManager keeps them: one manager per quota type (produce
 * bytes, fetch bytes, request time), each holding the quota overrides of users, client ids and
 * (user, client id) pairs with their defaults, and one rate sensor per set of metric tags.
 *
 * Which quota applies to a client (principal user U, client id C), most specific first:
 *   /config/users/U/clients/C, /config/users/U/clients/<default>, /config/users/U,
 *   /config/users/<default>/clients/C, /config/users/<default>/clients/<default>,
 *   /config/users/<default>, /config/clients/C, /config/clients/<default>.
 * Clients that the same entity limits share one sensor: a quota on user U is the total of all
 * of U's client ids, a quota on client id C the total of C under every user (Kafka's metric
 * tags). Which levels have ever been configured (a sticky bit set, as Kafka's quotaTypesEnabled)
 * decides the tags of a client with no quota of its own.
 */
import {
  CONNECTION_CREATION_RATE,
  CONSUMER_BYTE_RATE,
  CONTROLLER_MUTATION_RATE,
  DEFAULT_ENTITY_NAME,
  desanitizeEntityName,
  PRODUCER_BYTE_RATE,
  REQUEST_PERCENTAGE,
  sanitizeEntityName,
} from '../config/quota-configs.ts';
import { QuotaRate, type QuotaWindowConfig, throttleTimeMs } from './quota-rate.ts';

export type ClientQuotaType = 'produce' | 'fetch' | 'request';

const QUOTA_KEY_OF: Record<ClientQuotaType, string> = {
  produce: PRODUCER_BYTE_RATE,
  fetch: CONSUMER_BYTE_RATE,
  request: REQUEST_PERCENTAGE,
};

/** Kafka's QuotaTypes bits. */
const CLIENT_ID_ENABLED = 1;
const USER_ENABLED = 2;
const USER_CLIENT_ID_ENABLED = 4;

/** Sensors idle this long are dropped (Kafka's InactiveSensorExpirationTimeSeconds). */
const SENSOR_IDLE_MS = 3600 * 1000;
const SENSOR_SWEEP_MS = 60 * 1000;

/**
 * An entity's key: the user part ('' none, 'D' the default, 'U' + sanitized user) and the
 * client part ('' none, 'D' the default, 'C' + client id), joined by NUL.
 */
function entityKey(user: string, client: string): string {
  return `${user}\u0000${client}`;
}
const userPart = (sanitizedUser: string) => `U${sanitizedUser}`;
const clientPart = (clientId: string) => `C${clientId}`;

/** The user of a principal as Kafka's quotas name it (KafkaPrincipal.getName): User:alice -> alice. */
export function quotaUserOf(principal: string): string {
  const colon = principal.indexOf(':');
  return colon < 0 ? principal : principal.slice(colon + 1);
}

/** Metric tags: [sanitized user or '', client id or ''] (Kafka's DefaultTags). */
type Tags = readonly [string, string];

export class ClientQuotaManager {
  readonly type: ClientQuotaType;
  readonly #window: QuotaWindowConfig;
  /** request_percentage throttles are capped at one window sample (ClientRequestQuotaManager). */
  readonly #throttleMsMax: number;
  #overrides = new Map<string, number>();
  #enabled = 0;
  readonly #sensors = new Map<string, QuotaRate>();
  #lastSweepMs = 0;

  constructor(type: ClientQuotaType, window: QuotaWindowConfig) {
    this.type = type;
    this.#window = window;
    this.#throttleMsMax = type === 'request' ? window.sampleMs : Number.POSITIVE_INFINITY;
  }

  /** True once any quota of this type was configured (until restart, as in Kafka). */
  get enabled(): boolean {
    return this.#enabled !== 0;
  }

  /** Replaces every override: entity key -> bound (see `entityKey`). */
  setOverrides(overrides: ReadonlyMap<string, number>): void {
    this.#overrides = new Map(overrides);
    for (const key of overrides.keys()) {
      const [user, client] = key.split('\u0000') as [string, string];
      if (user !== '') this.#enabled |= client !== '' ? USER_CLIENT_ID_ENABLED : USER_ENABLED;
      else if (client !== '') this.#enabled |= CLIENT_ID_ENABLED;
    }
  }

  /** The bound of a client (user as in its principal), Infinity when none applies. */
  quota(user: string, clientId: string): number {
    return this.#limit(this.#tags(sanitizeEntityName(user), clientId));
  }

  /**
   * Records `value` (bytes, or request-time percentage) for the client at `nowMs` and returns
   * how long it must be throttled (0 when within its quota, or when no quota is configured).
   */
  record(user: string, clientId: string, value: number, nowMs: number): number {
    if (!this.enabled) return 0;
    const tags = this.#tags(sanitizeEntityName(user), clientId);
    const rate = this.#sensor(tags, nowMs);
    rate.record(value, nowMs);
    const bound = this.#limit(tags);
    if (!Number.isFinite(bound)) return 0;
    const observed = rate.measure(nowMs);
    if (observed <= bound) return 0;
    return Math.min(throttleTimeMs(observed, bound, rate.windowMs(nowMs)), this.#throttleMsMax);
  }

  /** Takes back a recorded value (a throttled fetch answers no data, as Kafka's unrecord). */
  unrecord(user: string, clientId: string, value: number, nowMs: number): void {
    if (!this.enabled) return;
    this.#sensor(this.#tags(sanitizeEntityName(user), clientId), nowMs).record(-value, nowMs);
  }

  /**
   * The most that can be recorded at once without a certain throttle: the bound over all but one
   * sample of the window (Kafka caps a fetch's size with it); Infinity when unlimited.
   */
  maxValueInWindow(user: string, clientId: string): number {
    if (!this.enabled) return Number.POSITIVE_INFINITY;
    const bound = this.#limit(this.#tags(sanitizeEntityName(user), clientId));
    return (bound * (this.#window.samples - 1) * this.#window.sampleMs) / 1000;
  }

  #sensor(tags: Tags, nowMs: number): QuotaRate {
    if (nowMs - this.#lastSweepMs >= SENSOR_SWEEP_MS) {
      this.#lastSweepMs = nowMs;
      for (const [k, s] of this.#sensors) {
        if (nowMs - s.lastRecordMs >= SENSOR_IDLE_MS) this.#sensors.delete(k);
      }
    }
    const key = entityKey(tags[0], tags[1]);
    let rate = this.#sensors.get(key);
    if (rate === undefined) {
      rate = new QuotaRate(this.#window, nowMs);
      this.#sensors.set(key, rate);
    }
    return rate;
  }

  #has(user: string, client: string): boolean {
    return this.#overrides.has(entityKey(user, client));
  }

  /** Kafka's DefaultQuotaCallback.quotaMetricTags. */
  #tags(user: string, clientId: string): Tags {
    switch (this.#enabled) {
      case 0:
      case CLIENT_ID_ENABLED:
        return ['', clientId];
      case USER_ENABLED:
        return [user, ''];
      case USER_CLIENT_ID_ENABLED:
        return [user, clientId];
    }
    const u = userPart(user);
    const c = clientPart(clientId);
    if (this.#has(u, c) || this.#has(u, 'D')) return [user, clientId];
    if (this.#has(u, '')) return [user, ''];
    if (this.#has('D', c) || this.#has('D', 'D')) return [user, clientId];
    if (this.#has('D', '')) return [user, ''];
    return ['', clientId];
  }

  /** Kafka's DefaultQuotaCallback.quotaLimit: the bound of a sensor's tags. */
  #limit([user, clientId]: Tags): number {
    const get = (u: string, c: string) => this.#overrides.get(entityKey(u, c));
    let bound: number | undefined;
    if (user !== '' && clientId !== '') {
      const u = userPart(user);
      const c = clientPart(clientId);
      bound = get(u, c) ?? get(u, 'D') ?? get('D', c) ?? get('D', 'D');
    } else if (user !== '') {
      bound = get(userPart(user), '') ?? get('D', '');
    } else if (clientId !== '') {
      bound = get('', clientPart(clientId)) ?? get('', 'D');
    }
    return bound ?? Number.POSITIVE_INFINITY;
  }
}

/** A parsed entity path: the user part and client part of an entity key, or an IP. */
export type ParsedEntityPath =
  | { readonly kind: 'client'; readonly key: string }
  | { readonly kind: 'ip'; readonly ip: string | null };

/** users/<u>, users/<u>/clients/<c>, clients/<c> or ips/<ip>, as stored; undefined otherwise. */
export function parseEntityPath(path: string): ParsedEntityPath | undefined {
  const parts = path.split('/');
  const name = (p: string | undefined, part: (n: string) => string) =>
    p === DEFAULT_ENTITY_NAME ? 'D' : part(p as string);
  if (parts[0] === 'users' && parts.length === 2) {
    return { kind: 'client', key: entityKey(name(parts[1], userPart), '') };
  }
  if (parts[0] === 'users' && parts.length === 4 && parts[2] === 'clients') {
    const c = name(parts[3], (n) => clientPart(desanitizeEntityName(n)));
    return { kind: 'client', key: entityKey(name(parts[1], userPart), c) };
  }
  if (parts[0] === 'clients' && parts.length === 2) {
    return {
      kind: 'client',
      key: entityKey(
        '',
        name(parts[1], (n) => clientPart(desanitizeEntityName(n))),
      ),
    };
  }
  if (parts[0] === 'ips' && parts.length === 2) {
    const ip = parts[1] as string;
    return { kind: 'ip', ip: ip === DEFAULT_ENTITY_NAME ? null : desanitizeEntityName(ip) };
  }
  return undefined;
}

/** The three client quota managers of a broker, fed from the metadata store. */
export class ClientQuotas {
  readonly produce: ClientQuotaManager;
  readonly fetch: ClientQuotaManager;
  readonly request: ClientQuotaManager;
  /** connection_creation_rate by IP (null: the default IP entity). */
  ipConnectionRates: ReadonlyMap<string | null, number> = new Map();

  constructor(window: QuotaWindowConfig) {
    this.produce = new ClientQuotaManager('produce', window);
    this.fetch = new ClientQuotaManager('fetch', window);
    this.request = new ClientQuotaManager('request', window);
  }

  /** Replaces every quota with the configs read from the store (entity path -> configs). */
  apply(
    all: ReadonlyMap<string, ReadonlyMap<string, string>>,
    log: (message: string) => void,
  ): void {
    const overrides = { produce: new Map(), fetch: new Map(), request: new Map() };
    const ips = new Map<string | null, number>();
    for (const [path, configs] of all) {
      const entity = parseEntityPath(path);
      if (entity === undefined) continue;
      for (const [key, text] of configs) {
        const value = Number(text);
        if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
          log(`ignoring quota ${key}=${text} of ${path}: not a positive number`);
          continue;
        }
        if (key === CONTROLLER_MUTATION_RATE) {
          log(`ignoring ${key} of ${path}: controller mutation quotas are not enforced`);
          continue;
        }
        if (entity.kind === 'ip') {
          if (key === CONNECTION_CREATION_RATE) ips.set(entity.ip, value);
          continue;
        }
        for (const type of ['produce', 'fetch', 'request'] as const) {
          if (QUOTA_KEY_OF[type] === key) overrides[type].set(entity.key, value);
        }
      }
    }
    this.produce.setOverrides(overrides.produce);
    this.fetch.setOverrides(overrides.fetch);
    this.request.setOverrides(overrides.request);
    this.ipConnectionRates = ips;
  }
}
