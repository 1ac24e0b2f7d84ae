/**
 * The other end of the loopback ceilings: listens on 127.0.0.1 (an ephemeral port, printed on
 * stdout). Default: counts the bytes of one connection and prints the count when it closes.
 * With `--echo`: writes back whatever it receives (the latency floor).
 */
import { createServer } from 'node:net';

const echo = process.argv.includes('--echo');
const server = createServer((socket) => {
  socket.setNoDelay(true);
  let bytes = 0;
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    if (echo) socket.write(d);
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
