/**
 * `tributary cluster`: cluster id, controller, brokers, the partitions that are under-replicated
 * (fewer in-sync replicas than replicas) or offline (no leader), and the API versions of the
 * broker.
 */
import { ApiKey, clientVersions } from '../admin/index.ts';
import { UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, writeJson } from './output.ts';

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]));

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'show the cluster id, controller, brokers, partition health and API versions',
  synopsis: 'usage: tributary cluster [--json]',
  options: {
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  async run(args, io) {
    if (args.positionals.length > 0)
      throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    return withAdmin(args, io, async (admin) => {
      const c = await admin.describeCluster();
      const apis = [...c.versions.broker]
        .sort(([a], [b]) => a - b)
        .map(([key, range]) => ({
          key,
          name: API_NAMES.get(key) ?? `Unknown${key}`,
          minVersion: range.minVersion,
          maxVersion: range.maxVersion,
          clientMaxVersion: clientVersions(key)?.maxVersion ?? -1,
          usedVersion: c.versions.pick(key),
        }));
      const brokers = [...c.brokers].sort((a, b) => a.nodeId - b.nodeId);
      const health = partitionHealth(await admin.listTopics());
      if (args.flag('json')) {
        writeJson(io, {
          clusterId: c.clusterId,
          controllerId: c.controllerId,
          brokers,
          underReplicated: health.underReplicated,
          offline: health.offline,
          apis,
        });
        return EXIT.ok;
      }
      io.stdout.write(`Cluster id: ${c.clusterId ?? '(none)'}\nController: ${c.controllerId}\n\n`);
      const brokerRows = brokers.map((b) => [
        String(b.nodeId),
        b.host,
        String(b.port),
        b.rack ?? '',
        b.nodeId === c.controllerId ? 'yes' : '',
      ]);
      io.stdout.write(formatTable(['id', 'host', 'port', 'rack', 'controller'], brokerRows));
      io.stdout.write(
        `\nUnder-replicated partitions: ${health.underReplicated.length}\nOffline partitions: ${health.offline.length}\n`,
      );
      const unhealthy = [...health.offline, ...health.underReplicated].map((p) => [
        p.topic,
        String(p.partition),
        p.leader < 0 ? 'none' : String(p.leader),
        p.replicas.join(','),
        p.isr.join(','),
        p.offline.join(','),
      ]);
      if (unhealthy.length > 0) {
        io.stdout.write(
          formatTable(['topic', 'partition', 'leader', 'replicas', 'isr', 'offline'], unhealthy),
        );
      }
      const apiRows = apis.map((a) => [
        String(a.key),
        a.name,
        `${a.minVersion}-${a.maxVersion}`,
        a.usedVersion < 0 ? '-' : String(a.usedVersion),
      ]);
      io.stdout.write(`\n${formatTable(['key', 'api', 'broker versions', 'used'], apiRows)}`);
      return EXIT.ok;
    });
  },
};

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
}

/** Kafka's definitions: offline without a leader; under-replicated with fewer in sync than replicas. */
function partitionHealth(
  topics: readonly { name: string; partitions: readonly Omit<PartitionState, 'topic'>[] }[],
): { underReplicated: PartitionState[]; offline: PartitionState[] } {
  const underReplicated: PartitionState[] = [];
  const offline: PartitionState[] = [];
  for (const t of topics) {
    for (const p of t.partitions) {
      const state = { ...p, topic: t.name };
      if (p.leader < 0) offline.push(state);
      else if (p.isr.length < p.replicas.length) underReplicated.push(state);
    }
  }
  return { underReplicated, offline };
}
