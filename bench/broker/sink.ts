/**
 * The receiving end of the loopback ceiling: listens on 127.0.0.1 (an ephemeral port, printed on
 * stdout), counts the bytes of one connection and prints the count when it closes.
 */
import { createServer } from 'node:net';

const server = createServer((socket) => {
  let bytes = 0;
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
  });
  socket.on('close', () => {
    process.stdout.write(`${bytes}\n`);
    server.close();
  });
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr !== null && typeof addr === 'object') process.stdout.write(`port ${addr.port}\n`);
});
