/**
 * Kafka's BrokerTopicMetrics per topic, counted on the main thread where the produce and fetch
 * answers are put together: records and bytes appended (messages in, bytes in), record bytes
 * sent to consumers (bytes out) and to follower replicas (replication bytes out). A produce
 * counts once its write succeeded, as Kafka's broker counts it; acks=0 gets no answer from the
 * partition worker, so its parts count when sent.
 */

export interface TopicCounts {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
  replicationBytesOut: number;
}

/** Records in a run of v2 record batches: each batch header says how many it holds. */
export function recordCount(records: Uint8Array): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let n = 0;
  // A batch is 12 + batchLength (at 8) bytes; recordCount is at 57 (record-batch.ts).
  for (let at = 0; at + 61 <= records.byteLength; ) {
    const length = 12 + view.getInt32(at + 8);
    if (length < 61) break;
    n += view.getInt32(at + 57);
    at += length;
  }
  return n;
}

export class TopicMetrics {
  private readonly byTopic = new Map<string, TopicCounts>();

  private of(topic: string): TopicCounts {
    let c = this.byTopic.get(topic);
    if (!c) this.byTopic.set(topic, (c = { messagesIn: 0, bytesIn: 0, bytesOut: 0, replicationBytesOut: 0 }));
    return c;
  }

  appended(topic: string, records: Uint8Array): void {
    const c = this.of(topic);
    c.messagesIn += recordCount(records);
    c.bytesIn += records.byteLength;
  }

  fetched(topic: string, bytes: number, follower: boolean): void {
    const c = this.of(topic);
    if (follower) c.replicationBytesOut += bytes;
    else c.bytesOut += bytes;
  }

  /** A deleted topic's counts go with it, as Kafka removes its metrics. */
  remove(topic: string): void {
    this.byTopic.delete(topic);
  }

  topics(): IterableIterator<[string, TopicCounts]> {
    return this.byTopic.entries();
  }
}
