/**
 * `tributary quotas describe|alter` (Kafka's kafka-configs for client quotas) and
 * `tributary users list|add|remove` (SCRAM credentials). An entity is named with --user,
 * --client-id or --ip, or their defaults with --user-defaults, --client-defaults,
 * --ip-defaults; --user with --client-id is the pair. Changes apply on every broker without a
 * restart.
 */
import {
  type Admin,
  alterClientQuotas,
  alterScramUser,
  describeClientQuotas,
  describeScramUsers,
  type QuotaDescription,
  type QuotaEntityPart,
} from '../admin/index.ts';
import { type ParsedArgs, parseKeyValues, splitTopLevel, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { withAdmin } from './common.ts';
import { EXIT, formatTable, type Io, writeJson } from './output.ts';

const ENTITY_OPTIONS = {
  user: { kind: 'string', value: 'USER', help: 'the user (principal name) the quota is for' },
  'client-id': { kind: 'string', value: 'ID', help: 'the client id the quota is for' },
  ip: { kind: 'string', value: 'IP', help: 'the IP address (connection_creation_rate)' },
  'user-defaults': { kind: 'flag', help: 'the default of every user' },
  'client-defaults': { kind: 'flag', help: 'the default of every client id' },
  'ip-defaults': { kind: 'flag', help: 'the default of every IP address' },
} as const;

export const quotasCommand: Command = {
  name: 'quotas',
  summary: 'describe and change client quotas (byte rates, request time, connection rates)',
  synopsis: `usage: tributary quotas describe [ENTITY] [--json]
       tributary quotas alter ENTITY [--add-config k=v[,k=v]] [--delete-config k[,k]]
  ENTITY: --user U | --user-defaults, and/or --client-id C | --client-defaults; or --ip A | --ip-defaults
  keys: producer_byte_rate, consumer_byte_rate, request_percentage; connection_creation_rate (ip)`,
  options: {
    ...ENTITY_OPTIONS,
    'add-config': { kind: 'list', value: 'k=v[,k=v]', help: 'alter: set quotas (repeatable)' },
    'delete-config': { kind: 'list', value: 'k[,k]', help: 'alter: remove quotas (repeatable)' },
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  async run(args, io) {
    const [sub, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    const entity = entityOf(args);
    if (sub === 'describe')
      return withAdmin(args, io, (admin) => describe(admin, entity, args, io));
    if (sub === 'alter') {
      if (entity.length === 0)
        throw new UsageError(
          'quotas alter needs an entity (--user, --client-id, --ip or a default)',
        );
      return withAdmin(args, io, (admin) => alter(admin, entity, args, io));
    }
    throw new UsageError(
      sub === undefined ? 'quotas needs describe or alter' : `unknown subcommand quotas ${sub}`,
    );
  },
};

function entityOf(args: ParsedArgs): QuotaEntityPart[] {
  const parts: QuotaEntityPart[] = [];
  const one = (type: string, name: string | undefined, defaults: boolean) => {
    if (name !== undefined && defaults) {
      throw new UsageError(
        `give --${type === 'client-id' ? 'client' : type}-defaults or a name, not both`,
      );
    }
    if (name !== undefined) parts.push({ entityType: type, entityName: name });
    else if (defaults) parts.push({ entityType: type, entityName: null });
  };
  one('user', args.string('user'), args.flag('user-defaults'));
  one('client-id', args.string('client-id'), args.flag('client-defaults'));
  one('ip', args.string('ip'), args.flag('ip-defaults'));
  if (parts.some((p) => p.entityType === 'ip') && parts.length > 1) {
    throw new UsageError('an IP quota is not combined with --user or --client-id');
  }
  return parts;
}

function label(entity: readonly QuotaEntityPart[]): string {
  return entity
    .map((p) => `${p.entityType} ${p.entityName === null ? '<default>' : `'${p.entityName}'`}`)
    .join(', ');
}

async function describe(admin: Admin, entity: QuotaEntityPart[], args: ParsedArgs, io: Io) {
  // An entity given: that one exactly (strict); none: every entity with a quota.
  const filter = entity.map((p) => ({ entityType: p.entityType, name: p.entityName }));
  const found: QuotaDescription[] = await describeClientQuotas(
    admin.client,
    filter,
    entity.length > 0,
  );
  if (args.flag('json')) {
    writeJson(
      io,
      found.map((q) => ({ entity: q.entity, quotas: Object.fromEntries(q.values) })),
    );
    return EXIT.ok;
  }
  if (found.length === 0) {
    io.stdout.write(
      entity.length === 0 ? 'No client quotas.\n' : `No quotas for ${label(entity)}.\n`,
    );
    return EXIT.ok;
  }
  const rows = found.flatMap((q) => [...q.values].map(([k, v]) => [label(q.entity), k, String(v)]));
  io.stdout.write(formatTable(['entity', 'quota', 'value'], rows));
  return EXIT.ok;
}

async function alter(admin: Admin, entity: QuotaEntityPart[], args: ParsedArgs, io: Io) {
  const set = new Map<string, number>();
  for (const raw of args.list('add-config')) {
    for (const [k, v] of parseKeyValues(raw, '--add-config')) {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n))
        throw new UsageError(`--add-config ${k}: '${v}' is not a number`);
      set.set(k, n);
    }
  }
  const remove: string[] = [];
  for (const raw of args.list('delete-config')) {
    for (const k of splitTopLevel(raw)) if (k.trim() !== '') remove.push(k.trim());
  }
  if (set.size === 0 && remove.length === 0) {
    throw new UsageError('quotas alter needs --add-config or --delete-config');
  }
  await alterClientQuotas(admin.client, entity, { set, remove });
  if (args.flag('json')) writeJson(io, { entity, set: Object.fromEntries(set), deleted: remove });
  else io.stdout.write(`Completed updating quotas for ${label(entity)}.\n`);
  return EXIT.ok;
}

const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

export const usersCommand: Command = {
  name: 'users',
  summary: 'list, add and remove SCRAM users',
  synopsis: `usage: tributary users list [--json]
       tributary users add USER --password P [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N]
       tributary users remove USER [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]`,
  options: {
    password: { kind: 'string', value: 'P', help: 'add: the password (salted and hashed here)' },
    mechanism: {
      kind: 'string',
      value: 'M',
      help: 'SCRAM-SHA-256 or SCRAM-SHA-512 (default SCRAM-SHA-256; remove: both when not given)',
    },
    iterations: { kind: 'string', value: 'N', help: 'add: SCRAM iterations (default 4096)' },
    json: { kind: 'flag', help: 'print JSON for scripts' },
  },
  async run(args, io) {
    const [sub, user, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    if (sub === 'list') return withAdmin(args, io, (admin) => listUsers(admin, args, io));
    if (sub !== 'add' && sub !== 'remove') {
      throw new UsageError(
        sub === undefined ? 'users needs list, add or remove' : `unknown subcommand users ${sub}`,
      );
    }
    if (user === undefined || user === '') throw new UsageError(`users ${sub} needs a user name`);
    const given = args.string('mechanism');
    if (given !== undefined && !(MECHANISMS as readonly string[]).includes(given)) {
      throw new UsageError(`--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not ${given}`);
    }
    const mechanism = given as (typeof MECHANISMS)[number] | undefined;
    if (sub === 'add') {
      const password = args.string('password');
      if (password === undefined) throw new UsageError('users add needs --password');
      const iterations = Number(args.string('iterations') ?? '4096');
      if (!Number.isInteger(iterations) || iterations < 4096 || iterations > 16384) {
        throw new UsageError('--iterations must be an integer from 4096 to 16384');
      }
      return withAdmin(args, io, async (admin) => {
        await alterScramUser(
          admin.client,
          user,
          mechanism ?? 'SCRAM-SHA-256',
          password,
          iterations,
        );
        io.stdout.write(`Added ${mechanism ?? 'SCRAM-SHA-256'} credentials for user '${user}'.\n`);
        return EXIT.ok;
      });
    }
    return withAdmin(args, io, async (admin) => {
      const have = (await describeScramUsers(admin.client, [user]))[0]?.credentials ?? [];
      const gone = have
        .map((c) => c.mechanism)
        .filter((m) => mechanism === undefined || m === mechanism);
      for (const m of gone)
        await alterScramUser(admin.client, user, m as (typeof MECHANISMS)[number], null);
      io.stdout.write(`Removed ${gone.join(', ') || 'no'} credentials of user '${user}'.\n`);
      return EXIT.ok;
    });
  },
};

async function listUsers(admin: Admin, args: ParsedArgs, io: Io) {
  const users = await describeScramUsers(admin.client, []);
  if (args.flag('json')) {
    writeJson(io, users);
    return EXIT.ok;
  }
  if (users.length === 0) {
    io.stdout.write('No SCRAM users.\n');
    return EXIT.ok;
  }
  const rows = users.map((u) => [
    u.user,
    u.credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', '),
  ]);
  io.stdout.write(formatTable(['user', 'credentials'], rows));
  return EXIT.ok;
}
