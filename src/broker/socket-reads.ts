/**
 * Reads an accepted socket into buffers the broker chooses instead of the fresh 64 KiB chunk Node
 * allocates for every read. At hundreds of megabytes per second those chunks were half of all
 * the memory the broker allocated and kept its garbage collector busy for a quarter of its time.
 *
 * Node offers this (`onread`) for sockets it connects, not for sockets a server accepts. So the
 * server accepts paused (`pauseOnConnect`) and the accepted socket hands its handle to a new
 * `net.Socket` built with `onread`. That leans on two underscore fields of `net.Socket`:
 * `_handle` (the libuv TCP handle) and `_server` (whose connection count the socket decrements
 * when it closes, so that `server.close()` completes). Both have been there since Node 12; where
 * they are not as expected, the socket is read the ordinary way and nothing else changes.
 */

import { Socket, type SocketConstructorOpts } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface ReadSink {
  /** The buffer the next read fills (from its start). */
  nextBuffer(): Buffer;
  /** `n` bytes were read into the start of `buffer`. */
  onRead(buffer: Buffer, n: number): void;
}

export interface AdoptedSocket {
  readonly socket: Socket;
  /** True when reads go into the sink's buffers; false on the 'data' fallback. */
  readonly direct: boolean;
}

interface SocketInternals {
  _handle?: { useUserBuffer?: unknown; readStart?: unknown } | null;
  _server?: unknown;
}

/** `accepted` must come from a server created with `pauseOnConnect: true` and not be used after. */
export function adoptForReads(accepted: Socket, sink: ReadSink): AdoptedSocket {
  const internals = accepted as unknown as SocketInternals;
  const handle = internals._handle;
  const usable =
    // A TLS socket's handle carries ciphertext: its plaintext comes through its stream only.
    !(accepted instanceof TLSSocket) &&
    handle !== undefined &&
    handle !== null &&
    typeof handle.useUserBuffer === 'function' &&
    typeof handle.readStart === 'function' &&
    '_server' in internals;
  if (!usable) {
    accepted.on('data', (chunk: Buffer) => sink.onRead(chunk, chunk.length));
    accepted.resume();
    return { socket: accepted, direct: false };
  }
  const options = {
    handle,
    allowHalfOpen: false,
    readable: true,
    writable: true,
    onread: {
      buffer: () => sink.nextBuffer(),
      callback: (n: number, buffer: Uint8Array) => {
        sink.onRead(buffer as Buffer, n);
        return true;
      },
    },
  } as SocketConstructorOpts;
  // The new socket takes the handle and the server's accounting; the old one is left empty.
  const socket = new Socket(options);
  (socket as unknown as SocketInternals)._server = internals._server;
  internals._server = null;
  internals._handle = null;
  return { socket, direct: true };
}
