/**
 * A minimal Kafka client on the project's own codecs, for end-to-end tests: the broker's own
 * client connection (pipelined requests, answers matched in order and decoded with the
 * generated response codecs). It also reads a partition back record by record, which is how
 * tests check what clients without a group-less consumer (kafkajs) have written.
 *
 * Record batches are parsed here rather than trusted to the broker's own decoder, so a test
 * checks the bytes a consumer would see. Supported compression: none and gzip (node:zlib);
 * other codecs are read back through librdkafka in the tests that produce them.
 */
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ClientConnection } from '../../src/shared/client-connection.js';
import type { ApiMessages } from '../../src/shared/protocol/generated/codecs.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { readVarint, readVarlong, type Cursor } from '../../src/shared/record-batch.js';

/** The shared client connection with untyped requests, as tests send bodies by API key number. */
export class WireClient {
  readonly connection: ClientConnection;

  private constructor(readonly socket: net.Socket) {
    this.connection = new ClientConnection(socket, { clientId: 'wire-client' });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new WireClient(s));
      });
      s.once('error', reject);
    });
  }

  /** A client on a socket that is already connected (a TLS socket after its handshake). */
  static over(socket: net.Socket): WireClient {
    return new WireClient(socket);
  }

  /** Sends one request and resolves with the decoded response body. */
  request<T = any>(apiKey: number, apiVersion: number, body: object): Promise<T> {
    return this.connection.request(apiKey as keyof ApiMessages, apiVersion, body as never) as Promise<T>;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface ReadRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

function readBytes(buf: Buffer, cur: Cursor, end: number): Buffer | null {
  const len = readVarint(buf, cur, end);
  if (len === undefined) throw new Error('truncated record');
  if (len < 0) return null;
  const b = buf.subarray(cur.pos, cur.pos + len);
  cur.pos += len;
  return b;
}

/**
 * The records of a fetch response's record set (v2 batches). A partial batch at the end,
 * which a fetch may return when the size limit cuts it, is skipped.
 */
export function parseRecordSet(records: Buffer): ReadRecord[] {
  const out: ReadRecord[] = [];
  let pos = 0;
  while (pos + 12 <= records.length) {
    const baseOffset = records.readInt32BE(pos) * 0x1_0000_0000 + records.readUInt32BE(pos + 4);
    const end = pos + 12 + records.readInt32BE(pos + 8);
    if (end > records.length) break;
    if (records.readInt8(pos + 16) !== 2) throw new Error(`magic ${records.readInt8(pos + 16)} at ${pos}`);
    const attributes = records.readInt16BE(pos + 21);
    const count = records.readInt32BE(pos + 57);
    const codec = attributes & 0x07;
    let body: Buffer;
    if (codec === 0) body = records.subarray(pos + 61, end);
    else if (codec === 1) body = gunzipSync(records.subarray(pos + 61, end));
    else throw new Error(`compression codec ${codec} is not readable here`);
    const cur: Cursor = { pos: 0 };
    for (let i = 0; i < count; i++) {
      const len = readVarint(body, cur, body.length);
      if (len === undefined) throw new Error('truncated record length');
      const recordEnd = cur.pos + len;
      cur.pos += 1;
      readVarlong(body, cur, recordEnd);
      const offsetDelta = readVarint(body, cur, recordEnd)!;
      const key = readBytes(body, cur, recordEnd);
      const value = readBytes(body, cur, recordEnd);
      out.push({ offset: baseOffset + offsetDelta, key, value });
      cur.pos = recordEnd;
    }
    pos = end;
  }
  return out;
}

/** The offset after the last whole batch of a record set (its last offset delta counts, not its records). */
function endOfBatches(records: Buffer): number {
  let next = -1;
  for (let pos = 0; pos + 27 <= records.length; ) {
    const end = pos + 12 + records.readInt32BE(pos + 8);
    if (end > records.length) break;
    next = records.readInt32BE(pos) * 0x1_0000_0000 + records.readUInt32BE(pos + 4) + records.readInt32BE(pos + 23) + 1;
    pos = end;
  }
  return next;
}

export interface PartitionRead {
  records: ReadRecord[];
  highWatermark: number;
}

/** Reads a partition from `fromOffset` up to its high watermark with Fetch v12 (by topic name). */
export async function readPartition(client: WireClient, topic: string, partition: number, fromOffset = 0): Promise<PartitionRead> {
  const records: ReadRecord[] = [];
  let offset = fromOffset;
  for (;;) {
    const res = await client.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 4 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    if (res.errorCode !== 0) throw new Error(`fetch error ${res.errorCode}`);
    const p = res.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`);
    const got = p.records ? parseRecordSet(p.records).filter((r) => r.offset >= offset) : [];
    records.push(...got);
    // A compacted log's batch may end past its last record, or hold none: go on after the batch.
    const after = p.records ? endOfBatches(p.records) : offset;
    if (offset >= p.highWatermark || after <= offset) return { records, highWatermark: p.highWatermark };
    offset = after;
  }
}
