/** Two connected TCP sockets on loopback (the host's end `a`, the device's end `b`), for tests that need a real socket. */
import net from 'node:net';

export interface SocketPair {
  a: net.Socket;
  b: net.Socket;
  close: () => void;
}

export async function socketPair(): Promise<SocketPair> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => a.once('connect', () => r()));
  const b = await accepted;
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}
