/**
 * One TCP connection speaking Kafka frames (int32 size, then header and body), for the
 * load generator and its admin calls. Requests are pipelined: any number may be in flight,
 * and since a Kafka broker answers a connection's requests in order, answers are matched
 * to requests by a FIFO and checked by correlation id.
 *
 * Hot path: the caller hands over a pre-built request frame; the connection writes its own
 * correlation id into bytes 8..11 of that frame (size int32, api key int16, api version
 * int16, then the correlation id) and writes it. The frame must not be handed over again
 * until its completion ran: until then the socket may still hold it. Writes made in one
 * event-loop turn leave in one cork, so pipelined sends cost few syscalls.
 */
import net from 'node:net';
import { encodeRequestFrame } from '../../src/shared/protocol/frames.js';
import { Reader } from '../../src/shared/protocol/reader.js';
import { decodeResponseHeader } from '../../src/shared/protocol/headers.js';

export const CORRELATION_ID_OFFSET = 8;

/** Runs with the response frame (without its size prefix), or with null and the reason. */
export type Completion = (frame: Buffer | null, error?: Error) => void;

export class WireConnection {
  private readonly socket: net.Socket;
  private readonly pending: Array<{ id: number; done: Completion }> = [];
  private head = 0;
  private nextId = 1;
  private corked = false;
  private partial: Buffer | null = null;
  private failure: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static connect(host: string, port: number): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new WireConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /**
   * Sends a pre-built frame. With expectsResponse false (Produce acks=0) the completion
   * runs once the socket has taken the bytes, with a null frame.
   */
  send(frame: Buffer, expectsResponse: boolean, done: Completion): void {
    if (this.failure) {
      done(null, this.failure);
      return;
    }
    const id = this.nextId;
    this.nextId = id === 0x7fffffff ? 1 : id + 1;
    frame.writeInt32BE(id, CORRELATION_ID_OFFSET);
    this.cork();
    if (expectsResponse) {
      this.pending.push({ id, done });
      this.socket.write(frame);
    } else {
      this.socket.write(frame, (err) => done(null, err ?? undefined));
    }
  }

  /** One request encoded from its body (or given whole as `frame`), answered with the decoded response body. */
  request<T>(apiKey: number, apiVersion: number, body: object, decode: (r: Reader, version: number) => T, frame?: Buffer): Promise<T> {
    frame ??= Buffer.concat(encodeRequestFrame(apiKey, apiVersion, 0, 'bench', body));
    return new Promise((resolve, reject) => {
      this.send(frame, true, (response, error) => {
        if (!response) {
          reject(error ?? new Error('no response'));
          return;
        }
        try {
          const r = new Reader(response);
          decodeResponseHeader(r, apiKey, apiVersion);
          resolve(decode(r, apiVersion));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.partial) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let pos = 0;
    while (buf.length - pos >= 4) {
      const size = buf.readInt32BE(pos);
      if (buf.length - pos - 4 < size) break;
      this.onFrame(buf.subarray(pos + 4, pos + 4 + size));
      pos += 4 + size;
    }
    if (pos < buf.length) this.partial = buf.subarray(pos);
  }

  private onFrame(frame: Buffer): void {
    if (this.head >= this.pending.length) {
      this.fail(new Error('response without a request'));
      return;
    }
    const entry = this.pending[this.head]!;
    this.pending[this.head++] = undefined as never;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    const id = frame.readInt32BE(0);
    if (id !== entry.id) {
      entry.done(null, new Error(`correlation id ${id}, expected ${entry.id}`));
      this.fail(new Error('responses out of order'));
      return;
    }
    entry.done(frame);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const waiting = this.pending.slice(this.head);
    this.pending.length = 0;
    this.head = 0;
    for (const p of waiting) p.done(null, err);
    this.socket.destroy();
  }
}
