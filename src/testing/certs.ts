/**
 * Test certificates made with openssl (Debian's openssl, installed by the README's test command):
 * a CA, a server certificate for 127.0.0.1 and localhost (PEM with its key, and PKCS12), a client
 * certificate signed by the CA, and a self-signed client certificate no CA vouches for.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
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

/** Runs openssl with its arguments given as one space-separated string (no spaces inside). */
async function openssl(args: string, cwd: string): Promise<void> {
  await runOk('/usr/bin/openssl', args.split(' '), { timeoutMs: 60_000, cwd });
}

/** A key and a certificate for `subject`, signed by the CA (or self-signed with `self`). */
async function certificate(dir: string, name: string, subject: string, ext?: string) {
  await openssl(
    `req -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.csr -subj ${subject}`,
    dir,
  );
  const extArgs = ext === undefined ? '' : ` -extfile ${ext}`;
  await openssl(
    `x509 -req -in ${name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ${name}.crt -days 2${extArgs}`,
    dir,
  );
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-certs-'));
  await openssl(
    'req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=tributary-test-ca',
    dir,
  );
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await certificate(dir, 'server', '/CN=localhost', 'server.ext');
  const serverPem = join(dir, 'server.pem');
  const parts = await Promise.all(['server.crt', 'server.key'].map((f) => readFile(join(dir, f))));
  await writeFile(serverPem, Buffer.concat(parts));
  await openssl(
    'pkcs12 -export -in server.crt -inkey server.key -out server.p12 -passout pass:store-secret',
    dir,
  );
  await certificate(dir, 'client', '/O=example/OU=eng/CN=alice');
  await openssl(
    'req -x509 -newkey rsa:2048 -nodes -keyout stranger.key -out stranger.crt -days 2 -subj /CN=mallory',
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
