/**
 * A minimal Kafka client on the project's own codecs, for end-to-end tests: the broker's own
 * client connection (pipelined requests, answers matched in order and decoded with the
 * generated response codecs). It also reads a partition back record by record, which is how
 * tests check what clients without a group-less consumer (kafkajs) have written.
 *
 * Record batches are parsed by the checker's consumer-side reader (src/checker/record-set.ts),
 * not by the broker's own log code, so a test checks the bytes a consumer would see.
 */
import net from 'node:net';
import { ClientConnection } from '../../src/shared/client-connection.js';
import type { ApiMessages } from '../../src/shared/protocol/generated/codecs.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { parseRecordSet, type ReadRecord } from '../../src/checker/record-set.js';

export { parseRecordSet, type ReadRecord };

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
