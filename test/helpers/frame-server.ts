/**
 * A Kafka-framed server on a free loopback port for tests that play a broker: every
 * size-prefixed frame a client sends is cut by the broker's own FrameReader and handed to
 * `onFrame` with its socket. `close()` drops every connection and resolves once the server
 * has stopped listening.
 */
import net from 'node:net';
import { FrameReader } from '../../src/shared/frame-reader.js';

export interface FrameServer {
  port: number;
  close(): Promise<void>;
}

export async function frameServer(onFrame: (frame: Buffer, socket: net.Socket) => void): Promise<FrameServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    const reader = new FrameReader();
    s.on('data', (d: Buffer) => {
      reader.push(d);
      for (let frame = reader.next(); frame !== null; frame = reader.next()) onFrame(frame, s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
