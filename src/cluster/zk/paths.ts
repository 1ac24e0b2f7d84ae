/**
 * Connect strings ("host:port,host:port/chroot") and znode paths, shared by the ZooKeeper client
 * and the in-memory coordination so that both accept and refuse the same inputs.
 */
import { CoordinationError } from '../coordination.ts';

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface ConnectTarget {
  readonly servers: readonly ServerAddress[];
  /** '' for none, else an absolute path without a trailing slash ("/kafka"). */
  readonly chroot: string;
}

export function parseConnectString(connectString: string): ConnectTarget {
  const slash = connectString.indexOf('/');
  const hostList = slash === -1 ? connectString : connectString.slice(0, slash);
  let chroot = slash === -1 ? '' : connectString.slice(slash);
  if (chroot === '/') chroot = '';
  if (chroot !== '') validatePath(chroot);
  const servers = hostList
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map(parseServer);
  if (servers.length === 0) {
    throw new CoordinationError('BADARGUMENTS', `no server in connect string "${connectString}"`);
  }
  return { servers, chroot };
}

function parseServer(entry: string): ServerAddress {
  const colon = entry.lastIndexOf(':');
  const host = colon === -1 ? entry : entry.slice(0, colon);
  const port = colon === -1 ? 2181 : Number(entry.slice(colon + 1));
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CoordinationError('BADARGUMENTS', `bad server "${entry}" in connect string`);
  }
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * ZooKeeper's PathUtils.validatePath: absolute, no empty, "." or ".." segment, no trailing
 * slash (except for a sequential create, where the server appends the sequence number).
 */
export function validatePath(path: string, sequential = false): void {
  const bad = (why: string) =>
    new CoordinationError('BADARGUMENTS', `invalid path "${path}": ${why}`, path);
  if (!path.startsWith('/')) throw bad('not absolute');
  if (path === '/') {
    if (sequential) throw bad('a sequential node needs a name prefix or a parent');
    return;
  }
  const body = sequential && path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  for (const segment of body.split('/')) {
    if (segment === '') throw bad('empty segment');
    if (segment === '.' || segment === '..') throw bad('relative segment');
    if (segment.includes('\u0000')) throw bad('null character');
  }
}

/** The client path as the server sees it. */
export function toServerPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  return path === '/' ? chroot : chroot + path;
}

/** A server path as the client sees it: the chroot stripped. */
export function fromServerPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  if (path === chroot) return '/';
  return path.startsWith(`${chroot}/`) ? path.slice(chroot.length) : path;
}

export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}
