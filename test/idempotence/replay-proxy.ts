/**
 * A TCP proxy between a Kafka client and the broker (127.0.0.1) that replays every Produce
 * request on the wire: the frame goes to the broker twice, the copy under a correlation id of
 * its own (DUPLICATE_BASE + n) so that its response can be told apart, kept for the test to
 * inspect, and dropped before it reaches the client. The client sees one answer per request,
 * as if a network retry had happened behind its back.
 *
 * `mode` decides when the copy is sent: `immediate` right behind the original (it reaches the
 * broker while the original is still being fsynced), `afterResponse` once the original's
 * response has passed (the original is durable by then).
 */
import net from 'node:net';
import { FrameReader, sizePrefixed } from '../../src/shared/frame-reader.js';
import { decodeResponseHeader } from '../../src/shared/protocol/headers.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { responseCodecs } from '../../src/shared/protocol/generated/codecs.js';
import { Reader } from '../../src/shared/protocol/reader.js';

const DUPLICATE_BASE = 0x5000_0000;

export type ReplayMode = 'immediate' | 'afterResponse';

/** A produce answer reduced to what the test compares: "topic/partition" -> [errorCode, baseOffset]. */
export type ProduceOutcome = Map<string, [number, number]>;

export interface ReplayPair {
  original: ProduceOutcome;
  duplicate: ProduceOutcome;
}

export interface ReplayProxy {
  port: number;
  mode: ReplayMode;
  /** Produce requests replayed whose both answers arrived. */
  readonly pairs: ReplayPair[];
  close(): Promise<void>;
}

/** Cuts a byte stream into size-prefixed frames (prefix included). */
function framer(onFrame: (frame: Buffer) => void): (d: Buffer) => void {
  const reader = new FrameReader();
  return (d) => {
    reader.push(d);
    for (let f = reader.next(); f !== null; f = reader.next()) onFrame(sizePrefixed(f));
  };
}

function outcome(frame: Buffer, apiVersion: number): ProduceOutcome {
  const r = new Reader(frame.subarray(4));
  decodeResponseHeader(r, ApiKey.Produce, apiVersion);
  const body = responseCodecs[ApiKey.Produce]!.decode(r, apiVersion) as {
    responses: Array<{ name: string; partitionResponses: Array<{ index: number; errorCode: number; baseOffset: number }> }>;
  };
  const out: ProduceOutcome = new Map();
  for (const t of body.responses) for (const p of t.partitionResponses) out.set(`${t.name}/${p.index}`, [p.errorCode, p.baseOffset]);
  return out;
}

export async function startReplayProxy(brokerPort: number, listenPort = 0): Promise<ReplayProxy> {
  let nextDuplicate = DUPLICATE_BASE;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const broker = net.connect(brokerPort, '127.0.0.1');
    sockets.add(client).add(broker);
    /** Produce requests in flight by correlation id: their version, copy and original answer. */
    const produces = new Map<number, { apiVersion: number; copy: Buffer; copyId: number; original?: ProduceOutcome }>();
    const byCopyId = new Map<number, number>();
    client.on('data', framer((frame) => {
      broker.write(frame);
      if (frame.readInt16BE(4) !== ApiKey.Produce) return;
      const correlationId = frame.readInt32BE(8);
      const copy = Buffer.from(frame);
      const copyId = nextDuplicate++;
      copy.writeInt32BE(copyId, 8);
      produces.set(correlationId, { apiVersion: frame.readInt16BE(6), copy, copyId });
      byCopyId.set(copyId, correlationId);
      if (proxy.mode === 'immediate') broker.write(copy);
    }));
    broker.on('data', framer((frame) => {
      const correlationId = frame.readInt32BE(4);
      const originalId = byCopyId.get(correlationId);
      if (originalId !== undefined) {
        const p = produces.get(originalId)!;
        byCopyId.delete(correlationId);
        produces.delete(originalId);
        proxy.pairs.push({ original: p.original!, duplicate: outcome(frame, p.apiVersion) });
        return;
      }
      const p = produces.get(correlationId);
      if (p) {
        p.original = outcome(frame, p.apiVersion);
        if (proxy.mode === 'afterResponse') broker.write(p.copy);
      }
      client.write(frame);
    }));
    const end = (): void => {
      client.destroy();
      broker.destroy();
      sockets.delete(client);
      sockets.delete(broker);
    };
    client.on('close', end).on('error', end);
    broker.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  const proxy: ReplayProxy = {
    port: (server.address() as net.AddressInfo).port,
    mode: 'immediate',
    pairs: [],
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
