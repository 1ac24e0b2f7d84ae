/**
 * The web console over a secured cluster: a broker with a PLAINTEXT listener (for the setup) and
 * a SASL_SSL one (SCRAM, a certificate from a CA made by openssl). The console logs in over
 * SASL_SSL with SCRAM-SHA-512 credentials from a --command-config file in Kafka's names, lists
 * the topics, shows the cluster and creates a topic through its form. A console given a wrong
 * password, or a CA that does not vouch for the broker, keeps serving and shows why it cannot
 * reach the cluster on each page, with the user and mechanism it tried; it does not crash, and
 * logs in on the next page once the user exists.
 * HTTP-level: the pages are fetched and read as HTML.
 */
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess, describeRun, run } from '../src/testing/broker-process.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';
import { ConsoleProcess } from '../src/testing/console-process.ts';

const MAIN = new URL('../src/main.js', import.meta.url).href;

/** Tributary's CLI, as `tributary ARGS`. */
async function cli(args: readonly string[]): Promise<string> {
  const script = `const { main } = await import(${JSON.stringify(MAIN)});\nawait main(process.argv.slice(1));`;
  const r = await run(process.execPath, ['--input-type=module', '-e', script, ...args], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, describeRun(r));
  return r.stdout.toString();
}

/** A GET: status and body. */
async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

/** The text of an element with the class `flash error`, unescaped enough to read. */
function errorFlash(body: string): string {
  const m = /<p class="flash error" role="alert">([^<]*)<\/p>/.exec(body);
  return (m?.[1] ?? '').replaceAll('&#39;', "'").replaceAll('&quot;', '"');
}

describe('the console over SASL_SSL with SCRAM', { timeout: 300_000 }, () => {
  let certs: TestCerts;
  let stranger: TestCerts;
  let broker: BrokerProcess;
  let saslSsl: string;
  const consoles: ConsoleProcess[] = [];

  before(async () => {
    requireOpenssl();
    [certs, stranger] = await Promise.all([makeTestCerts(), makeTestCerts()]);
    broker = await BrokerProcess.start({
      overrides: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
        'inter.broker.listener.name': 'PLAINTEXT',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.serverPem,
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
        'connection.failed.authentication.delay.ms': '50',
      },
    });
    saslSsl = broker.listenerAddress('SASL_SSL');
    const plain = broker.listenerAddress('PLAINTEXT');
    await cli([
      'users',
      'add',
      'ops',
      '--password',
      'ops-secret',
      '--mechanism',
      'SCRAM-SHA-512',
      '--bootstrap-server',
      plain,
    ]);
    await cli(['topics', 'create', 'payments', '--partitions', '3', '--bootstrap-server', plain]);
  });

  after(async () => {
    for (const c of consoles) await c.stop();
    await broker?.cleanup();
    for (const c of [certs, stranger]) if (c !== undefined) await rm(c.dir, { recursive: true });
  });

  /** A console against the SASL_SSL listener with these client properties. */
  async function startConsole(name: string, lines: readonly string[]): Promise<ConsoleProcess> {
    const props = join(certs.dir, `${name}.properties`);
    await writeFile(props, `${lines.join('\n')}\n`);
    const c = await ConsoleProcess.start(saslSsl, [
      '--command-config',
      props,
      '--alarms-file',
      join(certs.dir, `${name}-alarms.json`),
      '--sample-interval-ms',
      '500',
    ]);
    consoles.push(c);
    return c;
  }

  const scram512 = (user: string, password: string, ca: TestCerts) => [
    'security.protocol=SASL_SSL',
    'sasl.mechanism=SCRAM-SHA-512',
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${ca.caPem}`,
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`,
  ];

  it('logs in with SCRAM-SHA-512 over TLS: lists topics, shows the cluster, creates a topic', async () => {
    const c = await startConsole('good', scram512('ops', 'ops-secret', certs));
    const topics = await get(`${c.url}/topics`);
    assert.equal(topics.status, 200, topics.body);
    assert.match(topics.body, /<a href="\/topics\/payments">payments<\/a>/);
    const overview = await get(`${c.url}/`);
    assert.equal(overview.status, 200, overview.body);
    const [, port] = saslSsl.split(':');
    assert.match(overview.body, new RegExp(`<td>127\\.0\\.0\\.1</td><td>${port}</td>`));
    assert.equal(errorFlash(overview.body), '');

    const csrf = /name="_csrf" value="([^"]+)"/.exec(topics.body)?.[1] ?? '';
    const created = await fetch(`${c.url}/topics`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: csrf, name: 'made-over-sasl', partitions: '2' }),
      redirect: 'manual',
    });
    assert.equal(created.status, 303);
    const location = created.headers.get('location') ?? '';
    assert.match(decodeURIComponent(location), /ok=Created topic made-over-sasl/);
    const listed = await cli(['topics', 'list', '--bootstrap-server', broker.bootstrap]);
    assert.match(listed, /made-over-sasl/);
    // This broker has no authorizer: the ACLs page says so instead of failing.
    const acls = await get(`${c.url}/acls`);
    assert.equal(acls.status, 200, acls.body);
    assert.match(acls.body, /id="no-authorizer">The cluster has no authorizer/);
  });

  it('a wrong password: every page says the login failed, and the console keeps serving', async () => {
    const c = await startConsole('wrong', scram512('ops', 'not-the-password', certs));
    for (const page of ['/', '/topics', '/groups', '/users']) {
      const r = await get(`${c.url}${page}`);
      assert.equal(r.status, 502, `${page}: ${r.body}`);
      const shown = errorFlash(r.body);
      assert.match(shown, /cannot log in to the cluster as 'ops' with SCRAM-SHA-512/, page);
      assert.match(shown, /SASL_AUTHENTICATION_FAILED/, page);
    }
    // Still serving: the static files and the alarms page (which needs no cluster).
    assert.equal((await get(`${c.url}/static/console.css`)).status, 200);
    assert.equal((await get(`${c.url}/alarms`)).status, 200);
    assert.doesNotMatch(c.stderr, /Unhandled|TypeError|at .*\.js:\d+/);
  });

  it('a user created after the console started: the pages after it log in', async () => {
    const c = await startConsole('late', scram512('late', 'late-secret', certs));
    const before = await get(`${c.url}/topics`);
    assert.match(errorFlash(before.body), /cannot log in to the cluster as 'late'/);
    await cli([
      'users',
      'add',
      'late',
      '--password',
      'late-secret',
      '--mechanism',
      'SCRAM-SHA-512',
      '--bootstrap-server',
      broker.listenerAddress('PLAINTEXT'),
    ]);
    // A login the page before started while the user did not exist may still be waiting out the
    // broker's connection.failed.authentication.delay.ms, and a page that joins it gets its
    // failure; the pages after it log in.
    let now = await get(`${c.url}/topics`);
    for (let i = 0; i < 20 && now.status !== 200; i++) {
      assert.match(errorFlash(now.body), /cannot log in to the cluster as 'late'/);
      await new Promise((resolve) => setTimeout(resolve, 250));
      now = await get(`${c.url}/topics`);
    }
    assert.equal(now.status, 200, errorFlash(now.body));
    assert.match(now.body, /payments/);
  });

  it('a CA that does not vouch for the broker: the TLS failure is shown, not a crash', async () => {
    const c = await startConsole('stranger', scram512('ops', 'ops-secret', stranger));
    const r = await get(`${c.url}/topics`);
    assert.equal(r.status, 502, r.body);
    assert.match(
      errorFlash(r.body),
      /^cannot connect to the cluster over TLS \(check the ssl\.\* settings of --command-config\): .*unable to verify the first certificate/,
    );
    assert.equal((await get(`${c.url}/alarms`)).status, 200);
  });
});
