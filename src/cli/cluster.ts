/** `tributary cluster`: cluster id, controller, brokers and the API versions of the broker. */
import { ApiKey, clientVersions } from '../admin/index.ts';
import { UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, writeJson } from './output.ts';

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]));

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'show the cluster id, controller, brokers and supported API versions',
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
      if (args.flag('json')) {
        writeJson(io, { clusterId: c.clusterId, controllerId: c.controllerId, brokers, apis });
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
