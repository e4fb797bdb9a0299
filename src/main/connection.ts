/**
 * One client connection: cuts the byte stream into Kafka request frames (4-byte big-endian
 * size, then the request), hands each to the dispatcher with a response slot, and writes the
 * responses back strictly in request order while later requests are still being served
 * (clients pipeline and match answers by order as well as correlation id).
 *
 * Responses completed during one event-loop turn leave in one corked write: one syscall per
 * response was the first bottleneck of this design under load.
 */
import type { Socket } from 'node:net';
import { processNow } from '../shared/clock.js';
import { FrameReader, type FrameSizeError } from '../shared/frame-reader.js';
import type { Logger } from '../shared/logger.js';
import type { RequestMetrics, RequestTiming } from './request-metrics.js';
import type { SaslSession } from './security/sasl-session.js';

export interface ResponseSlot {
  /** Where the request's time goes, filled in by the dispatcher and the handler. */
  readonly timing: RequestTiming;
  /** The response frame's chunks, or null when the request gets no response (acks=0). */
  complete(chunks: Buffer[] | null): void;
  /** Closes the connection instead of answering (malformed request). */
  fail(reason: string): void;
}

export type FrameHandler = (frame: Buffer, slot: ResponseSlot, conn: Connection) => void;

/**
 * Requests, and bytes of requests, in flight on one connection before reading pauses. A
 * client may pipeline as much as it likes (librdkafka allows a million requests of up to
 * 1 MB); whatever the broker has read but not answered is memory it holds.
 */
const MAX_IN_FLIGHT = 1024;
const MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;

class Slot implements ResponseSlot, RequestTiming {
  chunks: Buffer[] | null | undefined = undefined;
  apiKey = -1;
  startedAt = 0;
  localUs = 0;
  queuedUs = 0;
  syncUs = 0;
  remoteUs = 0;
  resultSentAt = 0;
  answeredAt = 0;
  constructor(
    private readonly conn: Connection,
    readonly requestBytes: number,
    readonly readAt: number,
  ) {}

  get timing(): RequestTiming {
    return this;
  }

  complete(chunks: Buffer[] | null): void {
    if (this.chunks !== undefined) return;
    this.chunks = chunks;
    this.conn.slotDone();
  }
  fail(reason: string): void {
    this.conn.close(reason);
  }
}

export class Connection {
  /**
   * Who the client is, as Kafka writes principals ("User:alice"): from the client certificate
   * on a TLS listener, ANONYMOUS on a plaintext one.
   */
  principal: string;
  /** The SASL exchange of a SASL listener's connection; null on other listeners. */
  readonly sasl: SaslSession | null;
  /** Set once the connection is to close after the responses already due (why, for the log). */
  private ending: string | null = null;
  private readonly reader: FrameReader;
  private readonly queue: Slot[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private paused = false;
  /** Settles once the latest produce request has reached the partition workers. */
  private produceDispatched: Promise<void> = Promise.resolve();
  closed = false;

  constructor(
    readonly socket: Socket,
    /** The listener it arrived on. */
    readonly listener: string,
    principal: string,
    sasl: SaslSession | null,
    private readonly maxRequestBytes: number,
    idleMs: number,
    private readonly logger: Logger,
    private readonly metrics: RequestMetrics,
    private readonly onFrame: FrameHandler,
  ) {
    this.principal = principal;
    this.sasl = sasl;
    this.reader = new FrameReader(maxRequestBytes);
    socket.setNoDelay(true);
    // Kafka's connections.max.idle.ms: the socket's own inactivity timer, which every read and
    // write re-arms, so the hot path pays nothing for it. A request still being served (a
    // long-poll fetch, an acks=all produce) is not idleness: its response re-arms the timer.
    // (setTimeout's own callback is a once-listener; the timer fires again after re-arming.)
    if (idleMs > 0) {
      socket.setTimeout(idleMs);
      socket.on('timeout', () => {
        if (this.queue.length === 0) this.close(`idle for ${idleMs} ms (connections.max.idle.ms)`, 'info');
      });
    }
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (e) => this.logger.debug({ err: e.message }, 'connection error'));
    socket.on('close', () => {
      this.closed = true;
    });
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /**
   * A produce request's place in line, taken when it arrives: it goes to the partition workers
   * after the one before it on this connection (`ready`) and calls `dispatched` once it has.
   * Kafka serves a connection's requests one at a time; here they are served side by side, and
   * one that waits before it appends (topic creation, the check of a transaction with its
   * coordinator) would otherwise let a producer's next batch in first, refused as out of order.
   */
  takeProduceTurn(): { ready: Promise<void>; dispatched: () => void } {
    const ready = this.produceDispatched;
    let dispatched!: () => void;
    this.produceDispatched = new Promise((r) => (dispatched = r));
    return { ready, dispatched };
  }

  get inFlight(): number {
    return this.queue.length;
  }

  private onData(b: Buffer): void {
    if (this.closed || this.ending !== null) return;
    this.reader.push(b);
    while (!this.closed && this.ending === null) {
      let frame: Buffer | null;
      try {
        frame = this.reader.next();
      } catch (e) {
        const size = (e as FrameSizeError).size;
        this.close(`request size ${size} outside 0..${this.maxRequestBytes} (socket.request.max.bytes)`);
        return;
      }
      if (frame === null) break;
      const slot = new Slot(this, frame.length, processNow());
      this.queue.push(slot);
      this.queuedBytes += frame.length;
      try {
        this.onFrame(frame, slot, this);
      } catch (e) {
        this.close(`request handling failed: ${(e as Error).message}`);
        return;
      }
    }
    if ((this.queue.length >= MAX_IN_FLIGHT || this.queuedBytes >= MAX_IN_FLIGHT_BYTES) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Called by a slot when it completes; responses are written at the end of this turn. */
  slotDone(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    let corked = false;
    const now = processNow();
    while (this.queue.length > 0 && this.queue[0]!.chunks !== undefined) {
      const slot = this.queue.shift()!;
      this.queuedBytes -= slot.requestBytes;
      const chunks = slot.chunks;
      if (!chunks) continue;
      if (!corked) {
        this.socket.cork();
        corked = true;
      }
      for (const c of chunks) this.socket.write(c);
      this.metrics.record(slot, now);
    }
    if (corked) this.socket.uncork();
    if (this.ending !== null && this.queue.length === 0) {
      this.closed = true;
      this.logger.info({ remote: this.remote, listener: this.listener, principal: this.principal, reason: this.ending }, 'closing connection');
      this.socket.end();
      return;
    }
    if (this.paused && this.queue.length < MAX_IN_FLIGHT / 2 && this.queuedBytes < MAX_IN_FLIGHT_BYTES / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /**
   * Reads nothing more and closes once every request read so far is answered: how a refused
   * login gets its error response before the connection goes.
   */
  endAfterResponses(reason: string): void {
    this.ending ??= reason;
  }

  close(reason: string, level: 'warn' | 'info' = 'warn'): void {
    if (this.closed) return;
    this.closed = true;
    this.logger[level]({ remote: this.remote, listener: this.listener, principal: this.principal, reason }, 'closing connection');
    this.socket.destroy();
  }

  /** Resolves when every request read so far has been answered (or the socket closed). */
  async drained(): Promise<void> {
    while (!this.closed && this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
