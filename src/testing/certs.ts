/**
 * Test certificates made with openssl (Debian's openssl, installed by the README's test command):
 * a CA, a server certificate for 127.0.0.1 and localhost (PEM with its key, and PKCS12), a client
 * certificate signed by the CA, and a self-signed client certificate no CA vouches for.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from './broker-process.ts';
import { hasCommand, requireClient } from './clients.ts';

export interface TestCerts {
  readonly dir: string;
  readonly caPem: string;
  /** Certificate then key, PEM. */
  readonly serverPem: string;
  readonly serverP12: string;
  readonly serverP12Password: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** The client certificate's principal as Kafka's default mapping makes it. */
  readonly clientPrincipal: string;
  readonly strangerCert: string;
  readonly strangerKey: string;
}

export function requireOpenssl(): void {
  requireClient('openssl (Debian package openssl)', () => hasCommand('/usr/bin/openssl'));
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  await runOk('/usr/bin/openssl', args, { timeoutMs: 60_000, cwd });
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-certs-'));
  const days = ['-days', '2'];
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      ...days,
      '-subj',
      '/CN=tributary-test-ca',
    ],
    dir,
  );
  await openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ],
    dir,
  );
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      ...days,
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  const { readFile } = await import('node:fs/promises');
  const serverPem = join(dir, 'server.pem');
  await writeFile(
    serverPem,
    Buffer.concat([
      await readFile(join(dir, 'server.crt')),
      await readFile(join(dir, 'server.key')),
    ]),
  );
  await openssl(
    [
      'pkcs12',
      '-export',
      '-in',
      'server.crt',
      '-inkey',
      'server.key',
      '-out',
      'server.p12',
      '-passout',
      'pass:store-secret',
    ],
    dir,
  );
  await openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'client.key',
      '-out',
      'client.csr',
      '-subj',
      '/O=example/OU=eng/CN=alice',
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'client.crt',
      ...days,
    ],
    dir,
  );
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'stranger.key',
      '-out',
      'stranger.crt',
      ...days,
      '-subj',
      '/CN=mallory',
    ],
    dir,
  );
  return {
    dir,
    caPem: join(dir, 'ca.pem'),
    serverPem,
    serverP12: join(dir, 'server.p12'),
    serverP12Password: 'store-secret',
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    clientPrincipal: 'User:CN=alice,OU=eng,O=example',
    strangerCert: join(dir, 'stranger.crt'),
    strangerKey: join(dir, 'stranger.key'),
  };
}
