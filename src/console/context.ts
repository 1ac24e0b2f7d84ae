/** What every page handler gets: the admin client, the sampler, the alarms, the limits. */
import type { Admin } from '../admin/index.ts';
import type { AlarmMonitor } from './alarms.ts';
import type { Sampler } from './sampler.ts';

/** The console's limits; each is a command-line option (docs/cli.md, `tributary console`). */
export interface ConsoleLimits {
  /** --messages-max: records one query shows at most. */
  readonly messagesMax: number;
  /** --search-scan-max: records one search may read at most (the form's bound is capped here). */
  readonly searchScanMax: number;
  /** --query-timeout-ms: how long a query reads before it stops with what it has. */
  readonly queryTimeoutMs: number;
  /** --fetch-partition-bytes: bytes fetched per partition per request by a query. */
  readonly fetchPartitionBytes: number;
  /** --form-bytes-max: the largest form body accepted (a produced record's key and value). */
  readonly formBytesMax: number;
}

export const DEFAULT_LIMITS: ConsoleLimits = {
  messagesMax: 500,
  searchScanMax: 1_000_000,
  queryTimeoutMs: 15_000,
  fetchPartitionBytes: 1024 * 1024,
  formBytesMax: 2 * 1024 * 1024,
};

/** The bound a search reads by default (the form can raise it to searchScanMax). */
export const SEARCH_SCAN_DEFAULT = 10_000;

export interface ConsoleContext {
  readonly admin: Admin;
  readonly sampler: Sampler;
  readonly alarms: AlarmMonitor;
  readonly limits: ConsoleLimits;
  /** The per-process token every POST form carries. */
  readonly csrf: string;
}
