/**
 * TCP (or mutual TLS) between the raft workers of the brokers in `controller.quorum.voters`. Each node
 * listens on its controller listener and dials every peer: it sends only on the
 * connections it dialed and reads only on those it accepted, so there is nothing to
 * negotiate and each direction reconnects on its own (exponential backoff).
 *
 * Delivery is unordered and lossy by design, which Raft tolerates: while a peer is
 * unreachable its frames are dropped rather than queued without bound. A frame that is
 * too large or does not decode closes that one connection and logs one line.
 *
 * A peer whose process dies closes both connections with this node at once, so the transport
 * reports a peer as down when either closes (an accepted one is known by the `from` of its
 * first frame) and up again when the connection to it is open, and remembers since when each
 * peer is down: never having reached a peer counts as down since the start.
 */
import net from 'node:net';
import tls from 'node:tls';
import { FrameReader, sizePrefixed } from '../../../shared/frame-reader.js';
import type { Logger } from '../../../shared/logger.js';
import { type Envelope, decodeEnvelope, encodeEnvelope } from './wire.js';

export interface Peer {
  id: number;
  host: string;
  port: number;
}

export interface TcpTransportOptions {
  nodeId: number;
  peers: Peer[];
  listen: { host: string; port: number };
  logger: Logger;
  onEnvelope: (env: Envelope) => void;
  /** A connection with the peer closed (the first close since it was last up). */
  onPeerDown?: (peerId: number) => void;
  /** The connection to the peer opened. */
  onPeerUp?: (peerId: number) => void;
  maxFrameBytes?: number;
  /** Bytes that may wait for a connection to drain before new frames to it are dropped. */
  maxPendingBytes?: number;
  /**
   * Mutual TLS (an SSL controller listener): both ends present a certificate the other's
   * trusted CAs signed, so only quorum members can speak Raft.
   */
  tls?: QuorumTls;
}

/** PEM text of this node's key and certificate chain and of the CAs it trusts. */
export interface QuorumTls {
  key: string;
  cert: string;
  ca: string;
  passphrase: string | null;
  /** Check that a peer's certificate names the host dialled. */
  verifyHostname: boolean;
}

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2000;

class Outbound {
  socket: net.Socket | undefined;
  connected = false;
  backoff = MIN_BACKOFF_MS;
  timer: NodeJS.Timeout | undefined;

  constructor(readonly peer: Peer) {}
}

export class TcpTransport {
  private server: net.Server | undefined;
  private readonly outbound = new Map<number, Outbound>();
  private readonly inbound = new Set<net.Socket>();
  /** Peers not reachable now, and since when. */
  private readonly down = new Map<number, number>();
  private readonly maxFrameBytes: number;
  private readonly maxPendingBytes: number;
  private stopped = false;

  constructor(private readonly opts: TcpTransportOptions) {
    this.maxFrameBytes = opts.maxFrameBytes ?? 64 * 1024 * 1024;
    this.maxPendingBytes = opts.maxPendingBytes ?? 128 * 1024 * 1024;
    const now = Date.now();
    for (const p of opts.peers) {
      if (p.id === opts.nodeId) continue;
      this.outbound.set(p.id, new Outbound(p));
      this.down.set(p.id, now);
    }
  }

  /** Since when the peer is unreachable, or undefined while its connection is open. */
  downSince(peerId: number): number | undefined {
    return this.down.get(peerId);
  }

  private peerUp(peerId: number): void {
    if (!this.down.delete(peerId)) return;
    this.opts.onPeerUp?.(peerId);
  }

  private peerDown(peerId: number): void {
    if (this.stopped || this.down.has(peerId) || !this.outbound.has(peerId)) return;
    this.down.set(peerId, Date.now());
    this.opts.onPeerDown?.(peerId);
  }

  async start(): Promise<void> {
    const t = this.opts.tls;
    const server = t === undefined
      ? net.createServer((socket) => this.accept(socket))
      : tls.createServer({ key: t.key, cert: t.cert, ca: t.ca, ...(t.passphrase !== null ? { passphrase: t.passphrase } : {}), requestCert: true, rejectUnauthorized: true }, (socket) => this.accept(socket));
    if (t !== undefined) {
      server.on('tlsClientError', (err, socket) => {
        this.opts.logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'raft TLS handshake refused');
        socket.destroy();
      });
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    for (const o of this.outbound.values()) this.connect(o);
  }

  /** Best effort; false when dropped at once because the peer is unreachable or too far behind. */
  send(to: number, env: Envelope): boolean {
    const o = this.outbound.get(to);
    if (!o || !o.connected || !o.socket) return false;
    if (o.socket.writableLength > this.maxPendingBytes) return false;
    o.socket.write(sizePrefixed(encodeEnvelope(env)));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const o of this.outbound.values()) {
      clearTimeout(o.timer);
      o.socket?.destroy();
    }
    for (const s of this.inbound) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connect(o: Outbound): void {
    if (this.stopped) return;
    const t = this.opts.tls;
    const socket = t === undefined
      ? net.connect({ host: o.peer.host, port: o.peer.port })
      : tls.connect({
        host: o.peer.host, port: o.peer.port, key: t.key, cert: t.cert, ca: t.ca,
        ...(t.passphrase !== null ? { passphrase: t.passphrase } : {}),
        servername: net.isIP(o.peer.host) ? undefined : o.peer.host,
        ...(t.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
      });
    o.socket = socket;
    socket.setNoDelay(true);
    socket.on(t === undefined ? 'connect' : 'secureConnect', () => {
      o.connected = true;
      o.backoff = MIN_BACKOFF_MS;
      this.peerUp(o.peer.id);
    });
    // Nothing is expected from the accepting side; reading keeps the socket flowing.
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      if (o.connected) this.peerDown(o.peer.id);
      o.connected = false;
      o.socket = undefined;
      if (this.stopped) return;
      o.timer = setTimeout(() => this.connect(o), o.backoff);
      o.backoff = Math.min(o.backoff * 2, MAX_BACKOFF_MS);
    });
  }

  private accept(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.setNoDelay(true);
    const reader = new FrameReader(this.maxFrameBytes);
    let peerId: number | undefined;
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      const envs: Envelope[] = [];
      try {
        for (let f = reader.next(); f !== null; f = reader.next()) envs.push(decodeEnvelope(f));
      } catch (err) {
        this.opts.logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, err: (err as Error).message }, 'closing raft connection after a bad frame');
        socket.destroy();
        return;
      }
      if (peerId === undefined && envs.length > 0) {
        peerId = envs[0]!.from;
        // The peer dialed again while the connection to it stayed open: it is back.
        if (this.outbound.get(peerId)?.connected === true) this.peerUp(peerId);
      }
      for (const env of envs) this.opts.onEnvelope(env);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.inbound.delete(socket);
      if (peerId !== undefined) this.peerDown(peerId);
    });
  }
}
