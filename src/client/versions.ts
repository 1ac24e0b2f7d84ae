/**
 * Version negotiation. The client can speak every version the generated codecs know (the last one
 * only when it is stable upstream); the broker advertises its ranges in ApiVersions. For each key
 * the request goes at the highest version both sides support.
 */
import { apiDescriptors } from '../protocol/messages/api-table.ts';
import type { ApiVersionsResponse } from '../protocol/messages/api-versions-response.ts';

export interface VersionRange {
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** The versions this client speaks for `apiKey`, or undefined for an unknown key. */
export function clientVersions(apiKey: number): VersionRange | undefined {
  const d = apiDescriptors.get(apiKey);
  if (d === undefined) return undefined;
  const maxVersion = d.latestVersionUnstable ? d.maxVersion - 1 : d.maxVersion;
  if (maxVersion < d.minVersion) return undefined;
  return { minVersion: d.minVersion, maxVersion };
}

/** What one broker supports, per api key, and the version chosen for each. */
export class ApiVersionTable {
  readonly broker: ReadonlyMap<number, VersionRange>;

  constructor(response: ApiVersionsResponse) {
    const m = new Map<number, VersionRange>();
    for (const k of response.apiKeys) {
      m.set(k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion });
    }
    this.broker = m;
  }

  /** The highest version both sides support (at most `cap`), or -1 when there is none. */
  pick(apiKey: number, cap = Number.MAX_SAFE_INTEGER): number {
    const ours = clientVersions(apiKey);
    const theirs = this.broker.get(apiKey);
    if (ours === undefined || theirs === undefined) return -1;
    const v = Math.min(ours.maxVersion, theirs.maxVersion, cap);
    return v >= Math.max(ours.minVersion, theirs.minVersion) ? v : -1;
  }

  supports(apiKey: number): boolean {
    return this.pick(apiKey) >= 0;
  }
}
