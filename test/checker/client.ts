/**
 * The checker's Kafka client: Produce, Fetch, Metadata and InitProducerId on the project's own
 * codecs, one connection per broker, each call bounded by a deadline. A client library would
 * retry, batch and reorder behind our back; the checker needs every attempt to be exactly one
 * request whose outcome it can name:
 *   - `ok`: the broker answered with error 0 (and, for a produce, the base offset);
 *   - `error`: the broker answered with a Kafka error code, so the write did not happen
 *     (except the *_AFTER_APPEND codes and REQUEST_TIMED_OUT, which the history treats as
 *     indeterminate, as Kafka's own clients do);
 *   - `unknown`: no answer (connection lost, deadline passed): the write may or may not be in
 *     the log. The connection is then dropped, as Kafka clients do, so a late answer can never
 *     be matched to a later request.
 */
import { WireClient } from '../clients/wire-client.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { ZERO_UUID } from '../../src/shared/protocol/codec.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import type { MetadataResponse } from '../../src/shared/protocol/generated/metadata-response.js';
import { parseRecordSet, type ReadRecord } from '../clients/wire-client.js';

export type Answer<T> = { kind: 'ok'; value: T } | { kind: 'unknown'; reason: string };
export type Outcome<T> = Answer<T> | { kind: 'error'; errorCode: number };

export interface PartitionState {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export interface FetchAnswer {
  highWatermark: number;
  records: ReadRecord[];
}

export interface IdempotentIdentity {
  producerId: number;
  producerEpoch: number;
}

/** Connections to the brokers' client ports, by port; reconnects lazily after a failure. */
export class BrokerLinks {
  private readonly links = new Map<number, Promise<WireClient>>();

  constructor(private readonly clientId: string) {}

  /** One request to the broker on `port`; never throws: a lost or late answer is `unknown`. */
  async call<T>(port: number, apiKey: number, apiVersion: number, body: object, deadlineMs: number): Promise<Answer<T>> {
    let link = this.links.get(port);
    if (!link) {
      link = WireClient.connect(port);
      this.links.set(port, link);
      link.catch(() => this.links.delete(port));
    }
    let timer: NodeJS.Timeout | undefined;
    let client: WireClient | undefined;
    try {
      client = await link;
      const value = await Promise.race([
        client.request<T>(apiKey, apiVersion, body),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
        }),
      ]);
      return { kind: 'ok', value };
    } catch (e) {
      this.drop(port, client);
      return { kind: 'unknown', reason: `${this.clientId} -> ${port}: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  private drop(port: number, client: WireClient | undefined): void {
    this.links.delete(port);
    client?.close();
  }

  close(): void {
    for (const l of this.links.values()) void l.then((c) => c.close(), () => undefined);
    this.links.clear();
  }

  async metadata(port: number, topic: string, deadlineMs = 2000): Promise<Outcome<{ partitions: PartitionState[]; controllerId: number }>> {
    const r = await this.call<MetadataResponse>(port, ApiKey.Metadata, 12, {
      topics: [{ topicId: ZERO_UUID, name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }, deadlineMs);
    if (r.kind !== 'ok') return r;
    const t = r.value.topics.find((x) => x.name === topic);
    if (!t) return { kind: 'error', errorCode: -1 };
    if (t.errorCode !== 0) return { kind: 'error', errorCode: t.errorCode };
    const partitions = t.partitions
      .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode }))
      .sort((a, b) => a.partition - b.partition);
    return { kind: 'ok', value: { partitions, controllerId: r.value.controllerId } };
  }

  /**
   * Produce v9 of one batch holding `values` (one record each) to one partition. With an
   * identity the batch carries producer id, epoch and base sequence, so a retry of the same
   * call is recognised as a duplicate by the broker.
   */
  async produce(
    port: number,
    topic: string,
    partition: number,
    values: string[],
    opts: { acks: -1 | 1; timeoutMs: number; deadlineMs: number; idempotent?: IdempotentIdentity & { baseSequence: number } },
  ): Promise<Outcome<{ baseOffset: number }>> {
    const records = buildRecordBatch({
      records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
      ...(opts.idempotent ?? {}),
    });
    const r = await this.call<{ responses: { partitionResponses: { errorCode: number; baseOffset: number }[] }[] }>(port, ApiKey.Produce, 9, {
      transactionalId: null,
      acks: opts.acks,
      timeoutMs: opts.timeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    }, opts.deadlineMs);
    if (r.kind !== 'ok') return r;
    const p = r.value.responses[0]!.partitionResponses[0]!;
    if (p.errorCode !== 0) return { kind: 'error', errorCode: p.errorCode };
    return { kind: 'ok', value: { baseOffset: Number(p.baseOffset) } };
  }

  /** Fetch v12 as a consumer (replica id -1), so the broker answers only up to its high watermark. */
  async fetch(port: number, topic: string, partition: number, offset: number, maxWaitMs: number, deadlineMs: number): Promise<Outcome<FetchAnswer>> {
    const r = await this.call<{ errorCode: number; responses: { partitions: { errorCode: number; highWatermark: number; records: Buffer | null }[] }[] }>(
      port, ApiKey.Fetch, 12, {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes: 4 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      }, deadlineMs);
    if (r.kind !== 'ok') return r;
    if (r.value.errorCode !== 0) return { kind: 'error', errorCode: r.value.errorCode };
    const p = r.value.responses[0]!.partitions[0]!;
    if (p.errorCode !== 0) return { kind: 'error', errorCode: p.errorCode };
    const records = p.records ? parseRecordSet(p.records).filter((x) => x.offset >= offset) : [];
    return { kind: 'ok', value: { highWatermark: Number(p.highWatermark), records } };
  }

  /** InitProducerId v4 without a transactional id. */
  async initProducerId(port: number, deadlineMs = 5000): Promise<Outcome<IdempotentIdentity>> {
    const r = await this.call<{ errorCode: number; producerId: number; producerEpoch: number }>(port, ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: -1,
      producerId: -1,
      producerEpoch: -1,
    }, deadlineMs);
    if (r.kind !== 'ok') return r;
    if (r.value.errorCode !== 0) return { kind: 'error', errorCode: r.value.errorCode };
    return { kind: 'ok', value: { producerId: Number(r.value.producerId), producerEpoch: r.value.producerEpoch } };
  }
}
