/**
 * `tributary configs describe|alter --topic T | --broker N | --broker-defaults [--add-config k=v,...]
 * [--delete-config k]`. A broker's (or, with --broker-defaults, every broker's) dynamic configs
 * change without a restart (KIP-226).
 */
import { type Admin, alterConfigs, type ConfigResource, describeConfigs } from '../admin/index.ts';
import { type ParsedArgs, parseKeyValues, splitTopLevel, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, writeJson } from './output.ts';

export const configsCommand: Command = {
  name: 'configs',
  summary: 'describe and change topic and broker configs',
  synopsis: `usage: tributary configs describe (--topic T | --broker N | --broker-defaults) [--all] [--json]
       tributary configs alter (--topic T | --broker N | --broker-defaults) [--add-config k=v[,k=v]] [--delete-config k[,k]]`,
  options: {
    topic: { kind: 'string', value: 'TOPIC', help: 'the topic whose configs to show or change' },
    broker: { kind: 'string', value: 'ID', help: 'the broker whose configs to show or change' },
    'broker-defaults': {
      kind: 'flag',
      help: 'the dynamic configs every broker of the cluster falls back to',
    },
    all: { kind: 'flag', help: 'describe: include configs at their default value' },
    'add-config': { kind: 'list', value: 'k=v[,k=v]', help: 'alter: set configs (repeatable)' },
    'delete-config': { kind: 'list', value: 'k[,k]', help: 'alter: remove overrides (repeatable)' },
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  async run(args, io) {
    const [sub, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    const resource = resourceOf(args);
    if (sub === 'describe')
      return withAdmin(args, io, (admin) => describe(admin, resource, args, io));
    if (sub === 'alter') return withAdmin(args, io, (admin) => alter(admin, resource, args, io));
    throw new UsageError(
      sub === undefined ? 'configs needs describe or alter' : `unknown subcommand configs ${sub}`,
    );
  },
};

function resourceOf(args: ParsedArgs): ConfigResource {
  const topic = args.string('topic');
  const broker = args.string('broker');
  const defaults = args.flag('broker-defaults');
  if ([topic !== undefined, broker !== undefined, defaults].filter(Boolean).length !== 1) {
    throw new UsageError('give exactly one of --topic TOPIC, --broker ID or --broker-defaults');
  }
  if (topic !== undefined) return { type: 'topic', name: topic };
  if (defaults) return { type: 'broker', name: '' };
  if (!/^\d+$/.test(broker as string))
    throw new UsageError(`--broker needs a broker id, not '${broker}'`);
  return { type: 'broker', name: broker as string };
}

function label(resource: ConfigResource): string {
  if (resource.type === 'broker' && resource.name === '') return 'the broker defaults';
  return `${resource.type === 'topic' ? 'topic' : 'broker'} ${resource.name}`;
}

async function describe(admin: Admin, resource: ConfigResource, args: ParsedArgs, io: Io) {
  let entries = await describeConfigs(admin.client, resource);
  if (!args.flag('all')) entries = entries.filter((e) => !e.isDefault);
  if (args.flag('json')) {
    writeJson(io, { resource: resource.type, name: resource.name, configs: entries });
    return EXIT.ok;
  }
  if (entries.length === 0) {
    io.stdout.write(`No config overrides for ${label(resource)} (--all shows the defaults).\n`);
    return EXIT.ok;
  }
  const rows = entries.map((e) => [
    e.name,
    e.sensitive ? '(sensitive)' : (e.value ?? '(null)'),
    e.source,
    e.readOnly ? 'yes' : 'no',
  ]);
  io.stdout.write(`Configs for ${label(resource)}:\n`);
  io.stdout.write(formatTable(['name', 'value', 'source', 'read-only'], rows));
  return EXIT.ok;
}

async function alter(admin: Admin, resource: ConfigResource, args: ParsedArgs, io: Io) {
  const set = new Map<string, string>();
  for (const raw of args.list('add-config')) {
    for (const [k, v] of parseKeyValues(raw, '--add-config')) set.set(k, v);
  }
  const remove: string[] = [];
  for (const raw of args.list('delete-config')) {
    for (const k of splitTopLevel(raw)) if (k.trim() !== '') remove.push(k.trim());
  }
  if (set.size === 0 && remove.length === 0) {
    throw new UsageError('configs alter needs --add-config or --delete-config');
  }
  await alterConfigs(admin.client, resource, { set, delete: remove });
  if (args.flag('json')) {
    writeJson(io, {
      resource: resource.type,
      name: resource.name,
      set: Object.fromEntries(set),
      deleted: remove,
    });
  } else {
    io.stdout.write(`Completed updating config for ${label(resource)}.\n`);
  }
  return EXIT.ok;
}
