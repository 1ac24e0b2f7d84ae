/**
 * Describe and alter configs of a topic or a broker. Broker configs go to that broker; topic
 * configs to any broker. Alteration is incremental (IncrementalAlterConfigs: set and delete
 * single keys, the rest untouched).
 */
import type { KafkaClient, Target } from '../client/client.ts';
import { checkErrorCode } from '../client/errors.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { DescribeConfigsResponse } from '../protocol/messages/describe-configs-response.ts';
import type { IncrementalAlterConfigsResponse } from '../protocol/messages/incremental-alter-configs-response.ts';

export type ConfigResourceType = 'topic' | 'broker';

export interface ConfigResource {
  readonly type: ConfigResourceType;
  /** Topic name, or broker id as a string ('' for the cluster-wide broker default). */
  readonly name: string;
}

export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly source: string;
  readonly isDefault: boolean;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  /** Kafka's doc text of the config, when asked for and the broker sends it (v3+). */
  readonly documentation?: string;
}

export interface DescribeConfigsOptions {
  /** Ask for each config's documentation (DescribeConfigs v3+; older brokers send none). */
  readonly documentation?: boolean;
}

const RESOURCE_TYPE: Record<ConfigResourceType, number> = { topic: 2, broker: 4 };

/** Kafka's ConfigSource values. */
const SOURCE_NAMES: readonly string[] = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
];
const SOURCE_DEFAULT = 5;

const OP_SET = 0;
const OP_DELETE = 1;

function targetOf(resource: ConfigResource): Target {
  if (resource.type === 'broker' && resource.name !== '') return Number(resource.name);
  return 'any';
}

function subjectOf(resource: ConfigResource): string {
  return `${resource.type} ${resource.name === '' ? '(default)' : resource.name}`;
}

export async function describeConfigs(
  client: KafkaClient,
  resource: ConfigResource,
  options: DescribeConfigsOptions = {},
): Promise<ConfigEntry[]> {
  const { response, version } = await client.retry(() =>
    client.request<DescribeConfigsResponse>(
      ApiKey.DescribeConfigs,
      () => ({
        resources: [
          {
            resourceType: RESOURCE_TYPE[resource.type],
            resourceName: resource.name,
            configurationKeys: null,
          },
        ],
        includeSynonyms: false,
        includeDocumentation: options.documentation === true,
      }),
      targetOf(resource),
    ),
  );
  const out: ConfigEntry[] = [];
  for (const r of response.results) {
    checkErrorCode(r.errorCode, subjectOf(resource), r.errorMessage);
    for (const c of r.configs) {
      const sourceCode = version === 0 ? (c.isDefault ? SOURCE_DEFAULT : 0) : c.configSource;
      out.push({
        name: c.name,
        value: c.value,
        source: SOURCE_NAMES[sourceCode] ?? `SOURCE_${sourceCode}`,
        isDefault: version === 0 ? c.isDefault : c.configSource === SOURCE_DEFAULT,
        readOnly: c.readOnly,
        sensitive: c.isSensitive,
        ...(options.documentation === true && c.documentation !== null && c.documentation !== ''
          ? { documentation: c.documentation }
          : {}),
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export interface ConfigChanges {
  readonly set: ReadonlyMap<string, string>;
  readonly delete: readonly string[];
}

export async function alterConfigs(
  client: KafkaClient,
  resource: ConfigResource,
  changes: ConfigChanges,
): Promise<void> {
  const configs = [
    ...[...changes.set].map(([name, value]) => ({ name, configOperation: OP_SET, value })),
    ...changes.delete.map((name) => ({ name, configOperation: OP_DELETE, value: null })),
  ];
  const { response } = await client.retry(() =>
    client.request<IncrementalAlterConfigsResponse>(
      ApiKey.IncrementalAlterConfigs,
      () => ({
        resources: [
          { resourceType: RESOURCE_TYPE[resource.type], resourceName: resource.name, configs },
        ],
        validateOnly: false,
      }),
      targetOf(resource),
    ),
  );
  for (const r of response.responses) {
    checkErrorCode(r.errorCode, subjectOf(resource), r.errorMessage);
  }
}
