/**
 * Network fuzzing of the secured listeners (bounded in time), against a broker process with SSL,
 * SASL_PLAINTEXT and SASL_SSL listeners, while a well-behaved client authenticated with
 * SCRAM-SHA-512 over SASL_SSL keeps producing:
 *
 * - SASL: mutated frames of any API before authenticating; SaslHandshake with good and bad
 *   mechanisms followed by garbage, truncated or mutated SCRAM and PLAIN tokens (a client-first
 *   message cut short, a client-final with a wrong proof, random bytes); SaslHandshake v0 followed
 *   by raw garbage; connections that stop halfway through a frame and stay open;
 * - TLS: random bytes instead of a ClientHello; real TLS handshakes abandoned at random moments;
 *   TLS 1.2 clients asking to renegotiate (refused: the connection is closed, as Kafka does);
 *   connections that send part of a ClientHello and stay open.
 *
 * After each fuzzed exchange the connection asks for Metadata: the broker must never answer it
 * (no authenticated state reached). The broker must not crash, the good client must get every
 * acknowledgement (no stall), and the broker's memory must stay bounded.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Admin } from '../src/admin/index.ts';
import { TopicProducer } from '../src/admin/produce.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import { defaultMetadataRequest } from '../src/protocol/messages/metadata-request.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { makeTestCerts, requireOpenssl, type TestCerts } from '../src/testing/certs.ts';
import { encodeFrame, framed, mutate, prng, seeds } from '../src/testing/frame-fuzz.ts';
import { kafkaTool } from '../src/testing/reference-clients.ts';

const FUZZ_MS = Number(process.env['TRIBUTARY_FUZZ_MS'] ?? 5000);
/** The correlation id of the probe after each fuzzed exchange (the fuzz frames use 7). */
const PROBE_ID = 424242;

function probeFrame(): Buffer {
  const body = encodeFrame(ApiKey.Metadata, 1, { ...defaultMetadataRequest(), topics: null });
  body.writeInt32BE(PROBE_ID, 4);
  return framed(body);
}

/** Watches a socket's responses for the probe's correlation id. */
function watchAnswers(s: Socket, onProbeAnswered: () => void): void {
  let pending = Buffer.alloc(0);
  s.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readInt32BE(0);
      if (size < 4 || pending.length < 4 + size) {
        if (size < 4) pending = Buffer.alloc(0);
        break;
      }
      if (pending.readInt32BE(4) === PROBE_ID) onProbeAnswered();
      pending = pending.subarray(4 + size);
    }
  });
}

const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="bob-plain";';

const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN', 'GSSAPI', 'scram-sha-256', ''];

function saslHandshake(mechanism: string, version: number): Buffer {
  return framed(encodeFrame(ApiKey.SaslHandshake, version, { mechanism }));
}

function saslAuthenticate(token: Buffer): Buffer {
  return framed(encodeFrame(ApiKey.SaslAuthenticate, 1, { authBytes: token }));
}

/** A token that must never authenticate: SCRAM messages gone wrong, a PLAIN wrong password. */
function badToken(rnd: () => number, mechanism: string): Buffer {
  const nonce = randomBytes(18).toString('base64');
  const good =
    mechanism === 'PLAIN'
      ? Buffer.from('\u0000bob\u0000not-the-password')
      : Buffer.from(`n,,n=bob,r=${nonce}`);
  const kind = Math.floor(rnd() * 4);
  if (kind === 0) return good.subarray(0, Math.floor(rnd() * good.length));
  if (kind === 1)
    return Buffer.from(`c=biws,r=${nonce}xyz,p=${randomBytes(32).toString('base64')}`);
  if (kind === 2) return randomBytes(Math.floor(rnd() * 300));
  return mutate(good, rnd);
}

type Outcome = { probesAnswered: number; connections: number; renegotiated: number };

/** Fuzzes a SASL listener (TLS when `tls` is set) until `until`. */
async function fuzzSasl(
  host: string,
  port: number,
  tls: { ca: Buffer } | null,
  corpus: Buffer[],
  rnd: () => number,
  until: number,
  stalled: Socket[],
): Promise<Outcome> {
  const out: Outcome = { probesAnswered: 0, connections: 0, renegotiated: 0 };
  while (Date.now() < until) {
    const s: Socket =
      tls === null
        ? connect({ host, port })
        : tlsConnect({ host, port, ca: tls.ca, checkServerIdentity: () => undefined });
    s.on('error', () => undefined);
    watchAnswers(s, () => {
      out.probesAnswered++;
    });
    await new Promise((r) =>
      s.once(tls === null ? 'connect' : 'secureConnect', r).once('close', r),
    );
    out.connections++;
    if (s.destroyed) continue;
    const scenario = Math.floor(rnd() * 5);
    const mechanism = MECHANISMS[Math.floor(rnd() * MECHANISMS.length)] as string;
    if (scenario === 0) {
      for (let i = 0; i < 5; i++) {
        s.write(framed(mutate(corpus[Math.floor(rnd() * corpus.length)] as Buffer, rnd)));
      }
    } else if (scenario === 1) {
      s.write(saslHandshake(mechanism, 1));
      for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) {
        s.write(saslAuthenticate(badToken(rnd, mechanism)));
      }
    } else if (scenario === 2) {
      // SaslHandshake v0: the token comes raw, length-prefixed, without a request header.
      s.write(saslHandshake(mechanism, 0));
      s.write(framed(badToken(rnd, mechanism)));
    } else if (scenario === 3) {
      // A frame that says 100 bytes and sends 10, then nothing: kept open to the end.
      const partial = Buffer.alloc(14);
      partial.writeInt32BE(100, 0);
      s.write(partial);
      stalled.push(s);
      continue;
    } else {
      s.write(saslHandshake(mechanism, 1));
      s.write(saslAuthenticate(badToken(rnd, mechanism)));
      s.write(saslHandshake('SCRAM-SHA-256', 1));
    }
    s.write(probeFrame());
    await new Promise((r) => setTimeout(r, 5 + Math.floor(rnd() * 20)));
    s.destroy();
  }
  return out;
}

/** Fuzzes a TLS listener's handshake until `until`. */
async function fuzzTls(
  host: string,
  port: number,
  ca: Buffer,
  rnd: () => number,
  until: number,
  stalled: Socket[],
): Promise<Outcome> {
  const out: Outcome = { probesAnswered: 0, connections: 0, renegotiated: 0 };
  while (Date.now() < until) {
    out.connections++;
    const scenario = Math.floor(rnd() * 4);
    if (scenario === 0 || scenario === 3) {
      const s = connect({ host, port });
      s.on('error', () => undefined);
      s.resume();
      await new Promise((r) => s.once('connect', r).once('close', r));
      if (scenario === 0) {
        // Random bytes, or a TLS record header that promises more than it sends.
        s.write(randomBytes(1 + Math.floor(rnd() * 512)));
        await new Promise((r) => setTimeout(r, 5));
        s.destroy();
      } else {
        s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
        stalled.push(s);
      }
      continue;
    }
    const s = tlsConnect({
      host,
      port,
      ca,
      checkServerIdentity: () => undefined,
      ...(scenario === 2 ? { maxVersion: 'TLSv1.2' as const } : {}),
    });
    s.on('error', () => undefined);
    watchAnswers(s, () => {
      out.probesAnswered++;
    });
    if (scenario === 1) {
      // Abandoned at a random moment of the handshake.
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 8)));
      s.destroy();
      continue;
    }
    await new Promise((r) => s.once('secureConnect', r).once('close', r));
    if (!s.destroyed) {
      // Ask to renegotiate (TLS 1.2): the broker closes the connection, as Kafka does.
      await new Promise<void>((r) => {
        const asked = s.renegotiate({ rejectUnauthorized: false }, (err) => {
          if (err === null) out.renegotiated++;
          r();
        });
        if (!asked) r();
        s.once('close', () => r());
        setTimeout(r, 500);
      });
      s.destroy();
    }
  }
  return out;
}

async function rssOf(pid: number): Promise<number> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

describe('fuzzing the SSL and SASL listeners', () => {
  let certs: TestCerts;
  let broker: BrokerProcess;

  before(async () => {
    requireOpenssl();
    certs = await makeTestCerts();
    broker = await BrokerProcess.start({
      overrides: {
        listeners:
          'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
        'inter.broker.listener.name': 'PLAINTEXT',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.serverPem,
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
        'listener.name.sasl_ssl.plain.sasl.jaas.config': PLAIN_JAAS,
        'connection.failed.authentication.delay.ms': '10',
      },
    });
    await kafkaTool('configs', [
      '--bootstrap-server',
      broker.bootstrap,
      '--alter',
      '--add-config',
      'SCRAM-SHA-256=[password=bob-secret],SCRAM-SHA-512=[password=bob-secret]',
      '--entity-type',
      'users',
      '--entity-name',
      'bob',
    ]);
  });

  after(async () => {
    await broker?.cleanup();
    if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
  });

  it('garbage, truncated and abandoned handshakes: no crash, no stall, nobody authenticated', {
    timeout: 120_000,
  }, async (t) => {
    const ca = readFileSync(certs.caPem);
    const admin = new Admin({
      bootstrapServers: [broker.listenerAddress('SASL_SSL')],
      tls: { ca, checkHostname: true },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'bob', password: 'bob-secret' },
    });
    const stalled: Socket[] = [];
    try {
      const [meta] = await admin.describeTopics(['steady'], { autoCreate: true });
      assert.ok(meta !== undefined);
      const producer = new TopicProducer(admin.client, meta, { acks: 1, compression: 'none' });
      const corpus = seeds(
        [ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.Produce, ApiKey.Fetch].map((apiKey) => ({
          apiKey,
          minVersion: 0,
          maxVersion: 9,
        })),
      );
      const rssBefore = await rssOf(broker.pid);
      const until = Date.now() + FUZZ_MS;
      const address = (l: string) => {
        const [host, port] = broker.listenerAddress(l).split(':');
        return { host: host as string, port: Number(port) };
      };
      const sp = address('SASL_PLAINTEXT');
      const ss = address('SASL_SSL');
      const ssl = address('SSL');
      const good = (async () => {
        let acked = 0;
        while (Date.now() < until) {
          await producer.add({
            key: null,
            value: Buffer.from(String(acked)),
            headers: [],
            partition: 0,
          });
          await producer.flush();
          acked++;
        }
        return acked;
      })();
      const fuzzers = await Promise.all([
        fuzzSasl(sp.host, sp.port, null, corpus, prng(11), until, stalled),
        fuzzSasl(ss.host, ss.port, { ca }, corpus, prng(23), until, stalled),
        fuzzTls(ssl.host, ssl.port, ca, prng(37), until, stalled),
        fuzzTls(ss.host, ss.port, ca, prng(41), until, stalled),
      ]);
      const acked = await good;
      const growth = (await rssOf(broker.pid)) - rssBefore;
      t.diagnostic(
        `good client acked ${acked}; fuzz connections ${fuzzers.map((f) => f.connections).join(', ')}; ${stalled.length} left stalled; broker rss +${growth >> 20} MiB`,
      );
      assert.ok(broker.running, broker.describe());
      assert.ok(acked > 20, `the good client kept producing (${acked} acks)`);
      assert.ok(
        fuzzers.every((f) => f.connections > 20),
        `fuzz connections: ${fuzzers.map((f) => f.connections).join(', ')}`,
      );
      assert.deepEqual(
        fuzzers.map((f) => f.probesAnswered),
        [0, 0, 0, 0],
        'a fuzzed connection was answered a Metadata request',
      );
      assert.deepEqual(
        fuzzers.map((f) => f.renegotiated),
        [0, 0, 0, 0],
        'a TLS renegotiation was accepted',
      );
      assert.ok(growth < 256 * 1024 * 1024, `broker rss grew by ${growth} bytes`);
      // Still serving new clients, with everything the good one wrote.
      const offsets = await admin.listOffsets('steady', [0], -1);
      assert.equal(offsets.get(0), acked);
    } finally {
      for (const s of stalled) s.destroy();
      await admin.close();
    }
  });
});
