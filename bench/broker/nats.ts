/**
 * A minimal NATS client for the JetStream peer: CONNECT, one inbox subscription, a stream with
 * file storage, then publishes that each ask for a JetStream ack, at most `window` unacknowledged.
 * Written from the NATS text protocol (INFO, CONNECT, PING/PONG, SUB, PUB, MSG, HMSG, -ERR).
 */
import { connect, type Socket } from 'node:net';

const CRLF = '\r\n';

class NatsConnection {
  readonly #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #onMsg: (subject: string, payload: Buffer) => void = () => {};
  #onPong: (() => void) | null = null;
  error: Error | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (d: Buffer) => this.#onData(d));
  }

  onMessage(fn: (subject: string, payload: Buffer) => void): void {
    this.#onMsg = fn;
  }

  write(data: string | Buffer): boolean {
    return this.#socket.write(data);
  }

  drained(): Promise<void> {
    return new Promise((resolve) => this.#socket.once('drain', () => resolve()));
  }

  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.#onPong = resolve;
      this.#socket.write(`PING${CRLF}`);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    let pos = 0;
    for (;;) {
      const eol = this.#buf.indexOf(CRLF, pos);
      if (eol < 0) break;
      const line = this.#buf.toString('latin1', pos, eol);
      if (line.startsWith('MSG ') || line.startsWith('HMSG ')) {
        const parts = line.split(' ');
        const total = Number(parts[parts.length - 1]);
        if (this.#buf.length < eol + 2 + total + 2) break;
        this.#onMsg(parts[1] ?? '', this.#buf.subarray(eol + 2, eol + 2 + total));
        pos = eol + 2 + total + 2;
        continue;
      }
      pos = eol + 2;
      if (line === 'PING') this.#socket.write(`PONG${CRLF}`);
      else if (line === 'PONG') this.#onPong?.();
      else if (line.startsWith('-ERR')) this.error = new Error(`nats: ${line}`);
    }
    this.#buf = this.#buf.subarray(pos);
  }
}

async function open(port: number): Promise<NatsConnection> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const conn = new NatsConnection(socket);
  const opts = {
    verbose: false,
    pedantic: false,
    headers: true,
    no_responders: true,
    lang: 'node',
  };
  conn.write(`CONNECT ${JSON.stringify(opts)}${CRLF}`);
  conn.write(`SUB _INBOX.bench.> 1${CRLF}`);
  await conn.ping();
  return conn;
}

/** Creates the stream and publishes `records`; resolves with the seconds the publishes took. */
export async function jetStreamPublish(
  port: number,
  records: number,
  size: number,
  window: number,
): Promise<number> {
  const conn = await open(port);
  try {
    let created: (payload: string) => void = () => {};
    let acked = 0;
    let wake: (() => void) | null = null;
    let wakeAt = 0;
    conn.onMessage((subject, payload) => {
      if (subject === '_INBOX.bench.ack') {
        acked++;
        if (wake !== null && acked >= wakeAt) {
          const w = wake;
          wake = null;
          w();
        }
      } else created(payload.toString());
    });
    const config = JSON.stringify({ name: 'BENCH', subjects: ['bench.s'], storage: 'file' });
    const reply = await new Promise<string>((resolve) => {
      created = resolve;
      conn.write(`PUB $JS.API.STREAM.CREATE.BENCH _INBOX.bench.create ${config.length}${CRLF}`);
      conn.write(`${config}${CRLF}`);
    });
    if (reply.includes('"error"')) throw new Error(`JetStream stream create: ${reply}`);
    const one = Buffer.from(
      `PUB bench.s _INBOX.bench.ack ${size}${CRLF}${'x'.repeat(size)}${CRLF}`,
    );
    const many = Buffer.concat(Array.from({ length: window }, () => one));
    const t0 = performance.now();
    let sent = 0;
    while (acked < records) {
      if (conn.error !== null) throw conn.error;
      const n = Math.min(window - (sent - acked), records - sent);
      if (n > 0) {
        sent += n;
        if (!conn.write(many.subarray(0, n * one.length))) await conn.drained();
      }
      // Refill when half the window has been acknowledged (or everything has).
      wakeAt = Math.min(records, sent - Math.floor(window / 2));
      if (acked < wakeAt || (acked < records && sent === records)) {
        if (sent === records) wakeAt = records;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    }
    return (performance.now() - t0) / 1000;
  } finally {
    conn.close();
  }
}
