/**
 * A client's connection to a Kafka broker, over a socket already open (plain TCP or TLS).
 *
 * Requests are pipelined: any number may be in flight. A broker answers a connection's
 * requests in the order it read them, so answers are matched to requests first in, first out
 * and checked against the correlation id the connection wrote into each request; an answer
 * out of order is a broken connection. Writes made in one event-loop turn leave in one cork,
 * so pipelined requests cost few syscalls.
 *
 * A request may have a timeout. As in Kafka's own client, a request that times out closes
 * the connection: later answers cannot be told apart from its own once it is skipped. Closing
 * the connection, from either end, fails every request still in flight.
 *
 * Two ways in: `request` encodes a body and decodes the answer with the generated codecs;
 * `send` takes a request frame built beforehand (a load generator reuses its frames) and runs
 * a callback with the raw answer, with no promise per request.
 */
import net from 'node:net';
import { FrameReader } from './frame-reader.js';
import type { Encodable } from './protocol/codec.js';
import { encodeRequestFrame } from './protocol/frames.js';
import { type ApiMessages, type RequestOf, type ResponseOf, responseCodecs } from './protocol/generated/codecs.js';
import { decodeResponseHeader } from './protocol/headers.js';
import { Reader } from './protocol/reader.js';

/** Where a request frame holds its correlation id: after the size (int32), API key and version (int16 each). */
export const CORRELATION_ID_OFFSET = 8;

/**
 * Runs once per request: with the answer frame (without its size; it starts with the
 * response header), or with null and why there is none. A request sent without expecting an
 * answer (Produce with acks=0) completes with null and no error once the socket took it.
 */
export type Completion = (frame: Buffer | null, error?: Error) => void;

export interface ClientConnectionOptions {
  /** The client id written in the header of the requests `request` encodes. */
  clientId?: string;
  /** Milliseconds a request may wait for its answer unless it says otherwise; 0: no limit. */
  requestTimeoutMs?: number;
  /** The largest answer accepted; a larger one closes the connection. */
  maxResponseBytes?: number;
}

interface InFlight {
  id: number;
  done: Completion;
  timer: NodeJS.Timeout | undefined;
}

export class ClientConnection {
  private readonly reader: FrameReader;
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  /** Requests awaiting their answer, oldest at `head` (a cursor, so taking one is O(1)). */
  private readonly inFlight: (InFlight | undefined)[] = [];
  private head = 0;
  private nextId = 1;
  private corked = false;
  private failure: Error | null = null;

  constructor(readonly socket: net.Socket, options: ClientConnectionOptions = {}) {
    this.clientId = options.clientId ?? 'kafka-ts-client';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.reader = new FrameReader(options.maxResponseBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error(`connection to ${this.remote} closed`)));
  }

  /** A plain TCP connection to host:port. */
  static connect(host: string, port: number, options?: ClientConnectionOptions): Promise<ClientConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ClientConnection(socket, options));
      });
      socket.once('error', reject);
    });
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** Requests written and not yet answered. */
  get pending(): number {
    return this.inFlight.length - this.head;
  }

  /** Closed, by either end or by a failure; requests fail at once. */
  get closed(): boolean {
    return this.failure !== null;
  }

  /**
   * Sends a request frame built beforehand (size prefix included): the connection writes its
   * own correlation id into it, so the frame must not be handed over again before its
   * completion ran (until then the socket may still hold it).
   */
  send(frame: Buffer | readonly Buffer[], expectsResponse: boolean, done: Completion, timeoutMs = this.requestTimeoutMs): void {
    if (this.failure) {
      done(null, this.failure);
      return;
    }
    const id = this.nextId;
    this.nextId = id === 0x7fff_ffff ? 1 : id + 1;
    const chunks = Buffer.isBuffer(frame) ? [frame] : (frame as readonly Buffer[]);
    chunks[0]!.writeInt32BE(id, CORRELATION_ID_OFFSET);
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (!expectsResponse) {
      for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!);
      this.socket.write(chunks[chunks.length - 1]!, (err) => done(null, err ?? undefined));
      return;
    }
    const entry: InFlight = { id, done, timer: undefined };
    if (timeoutMs > 0) {
      entry.timer = setTimeout(() => this.fail(new Error(`request ${id} to ${this.remote} timed out after ${timeoutMs} ms`)), timeoutMs);
    }
    this.inFlight.push(entry);
    for (const c of chunks) this.socket.write(c);
  }

  /** One request, its body encoded at `version`; resolves with the decoded answer. */
  request<K extends keyof ApiMessages>(apiKey: K, version: number, body: Encodable<RequestOf<K>>, timeoutMs?: number): Promise<ResponseOf<K>> {
    return this.exchange(apiKey, version, encodeRequestFrame(apiKey, version, 0, this.clientId, body), timeoutMs);
  }

  /** One request given as a frame built beforehand; resolves with the decoded answer. */
  exchange<K extends keyof ApiMessages>(apiKey: K, version: number, frame: Buffer | readonly Buffer[], timeoutMs?: number): Promise<ResponseOf<K>> {
    return new Promise((resolve, reject) => {
      this.send(frame, true, (answer, error) => {
        if (answer === null) {
          reject(error ?? new Error('no answer'));
          return;
        }
        try {
          const r = new Reader(answer);
          decodeResponseHeader(r, apiKey, version);
          resolve(responseCodecs[apiKey]!.decode(r, version) as ResponseOf<K>);
        } catch (e) {
          reject(e as Error);
        }
      }, timeoutMs);
    });
  }

  /** Closes the connection; requests in flight fail with `reason`. */
  close(reason = `connection to ${this.remote} closed by this client`): void {
    this.fail(new Error(reason));
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    this.reader.push(chunk);
    for (;;) {
      let frame: Buffer | null;
      try {
        frame = this.reader.next();
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      if (frame === null) return;
      this.answer(frame);
      if (this.failure) return;
    }
  }

  private answer(frame: Buffer): void {
    if (this.head >= this.inFlight.length) {
      this.fail(new Error(`an answer from ${this.remote} without a request`));
      return;
    }
    const entry = this.inFlight[this.head]!;
    this.inFlight[this.head++] = undefined;
    if (this.head === this.inFlight.length) {
      this.inFlight.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.inFlight.length) {
      this.inFlight.splice(0, this.head);
      this.head = 0;
    }
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    const id = frame.length >= 4 ? frame.readInt32BE(0) : -1;
    if (id !== entry.id) {
      const err = new Error(`answer with correlation id ${id} from ${this.remote}, expected ${entry.id}`);
      entry.done(null, err);
      this.fail(err);
      return;
    }
    entry.done(frame);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const waiting = this.inFlight.slice(this.head);
    this.inFlight.length = 0;
    this.head = 0;
    this.socket.destroy();
    for (const p of waiting) {
      if (p === undefined) continue;
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.done(null, err);
    }
  }
}
