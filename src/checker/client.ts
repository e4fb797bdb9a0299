/**
 * The checker's Kafka client: Produce, Fetch, Metadata, InitProducerId, CreateTopics and the
 * transaction APIs (FindCoordinator, AddPartitionsToTxn, EndTxn) on the broker's own codecs, one connection per broker address, each call bounded by a deadline. A
 * client library would retry, batch and reorder behind the checker's back; the checker needs
 * every attempt to be exactly one request whose outcome it can name:
 *   - `ok`: the broker answered with error 0 (and, for a produce, the base offset);
 *   - `error`: the broker answered with a Kafka error code;
 *   - `unknown`: no answer (connection refused or lost, deadline passed): a write may or may
 *     not be in the log. The connection is then dropped, as Kafka clients do, so a late answer
 *     can never be matched to a later request.
 * Requests on one connection are pipelined; a broker answers them in order.
 */
import { ClientConnection } from '../shared/client-connection.js';
import { ZERO_UUID } from '../shared/protocol/codec.js';
import { ErrorCode } from '../shared/errors.js';
import { ApiKey } from '../shared/protocol/generated/api-keys.js';
import type { ApiMessages } from '../shared/protocol/generated/codecs.js';
import type { MetadataResponse } from '../shared/protocol/generated/metadata-response.js';
import { TRANSACTIONAL_FLAG } from '../shared/control-records.js';
import { buildRecordBatch, resealBatch } from '../shared/record-batch.js';
import { parseBatches, type ReadBatch, type ReadRecord } from './record-set.js';
import type { AbortedTransaction } from './read-committed.js';

export type Answer<T> = { kind: 'ok'; value: T } | { kind: 'unknown'; reason: string };
export type Outcome<T> = Answer<T> | { kind: 'error'; errorCode: number };

/** A broker's client address, `host:port`. */
export type Address = string;

export interface PartitionState {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export interface MetadataAnswer {
  /** The brokers the answer names, by node id. */
  brokers: Map<number, Address>;
  controllerId: number;
  /** The topic's partitions, in partition order; empty when the topic is unknown. */
  partitions: PartitionState[];
  topicErrorCode: number;
}

export interface FetchAnswer {
  highWatermark: number;
  lastStableOffset: number;
  /** The records at or after the fetch offset. */
  records: ReadRecord[];
  /** The whole batches the answer held, for a read_committed reader. */
  batches: ReadBatch[];
  abortedTransactions: AbortedTransaction[];
}

/** FindCoordinator's key types. */
export const CoordinatorType = { GROUP: 0, TRANSACTION: 1 } as const;
export type CoordinatorType = (typeof CoordinatorType)[keyof typeof CoordinatorType];

export interface IdempotentIdentity {
  producerId: number;
  producerEpoch: number;
}

export function splitAddress(a: Address): { host: string; port: number } {
  const at = a.lastIndexOf(':');
  const port = Number(a.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`not a host:port address: ${a}`);
  return { host: a.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
}

/** Connections to brokers, by address; a failed one is dropped and dialled again on next use. */
export class BrokerLinks {
  private readonly links = new Map<Address, Promise<ClientConnection>>();

  constructor(private readonly clientId: string) {}

  /** One request; never throws: a lost or late answer is `unknown`. */
  async call<T>(address: Address, apiKey: number, apiVersion: number, body: object, deadlineMs: number): Promise<Answer<T>> {
    let link = this.links.get(address);
    if (!link) {
      const { host, port } = splitAddress(address);
      link = ClientConnection.connect(host, port, { clientId: this.clientId });
      this.links.set(address, link);
      link.catch(() => {
        if (this.links.get(address) === link) this.links.delete(address);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
    });
    try {
      const conn = await Promise.race([link, deadline]);
      const value = await Promise.race([conn.request(apiKey as keyof ApiMessages, apiVersion, body as never) as Promise<T>, deadline]);
      return { kind: 'ok', value };
    } catch (e) {
      this.drop(address, link);
      return { kind: 'unknown', reason: `${this.clientId} -> ${address}: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  private drop(address: Address, link: Promise<ClientConnection>): void {
    if (this.links.get(address) === link) this.links.delete(address);
    void link.then((c) => c.close(), () => undefined);
  }

  close(): void {
    for (const l of this.links.values()) void l.then((c) => c.close(), () => undefined);
    this.links.clear();
  }

  async metadata(address: Address, topic: string, deadlineMs = 2000): Promise<Answer<MetadataAnswer>> {
    const r = await this.call<MetadataResponse>(address, ApiKey.Metadata, 12, {
      topics: [{ topicId: ZERO_UUID, name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }, deadlineMs);
    if (r.kind !== 'ok') return r;
    const brokers = new Map(r.value.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
    const t = r.value.topics.find((x) => x.name === topic);
    const partitions = (t?.errorCode === 0 ? t.partitions : [])
      .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode }))
      .sort((a, b) => a.partition - b.partition);
    return { kind: 'ok', value: { brokers, controllerId: r.value.controllerId, partitions, topicErrorCode: t?.errorCode ?? -1 } };
  }

  /**
   * Produce v9 of one batch holding `values` (one record each) to one partition. With an
   * identity the batch carries producer id, epoch and base sequence, so a retry of the same
   * batch is recognised as a duplicate by the broker.
   */
  async produce(
    address: Address,
    topic: string,
    partition: number,
    values: string[],
    opts: {
      acks: -1 | 1;
      timeoutMs: number;
      deadlineMs: number;
      idempotent?: IdempotentIdentity & { baseSequence: number };
      /** The batch belongs to this transactional id's ongoing transaction (needs `idempotent`). */
      transactionalId?: string;
    },
  ): Promise<Outcome<{ baseOffset: number }>> {
    const records = buildRecordBatch({
      records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
      ...(opts.idempotent ?? {}),
    });
    if (opts.transactionalId !== undefined) {
      records.writeInt16BE(TRANSACTIONAL_FLAG, 21);
      resealBatch(records, 0);
    }
    const r = await this.call<{ responses: { partitionResponses: { errorCode: number; baseOffset: number }[] }[] }>(address, ApiKey.Produce, 9, {
      transactionalId: opts.transactionalId ?? null,
      acks: opts.acks,
      timeoutMs: opts.timeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    }, opts.deadlineMs);
    if (r.kind !== 'ok') return r;
    const p = r.value.responses[0]!.partitionResponses[0]!;
    if (p.errorCode !== 0) return { kind: 'error', errorCode: p.errorCode };
    return { kind: 'ok', value: { baseOffset: Number(p.baseOffset) } };
  }

  /**
   * Fetch v12 as a consumer (replica id -1), so the broker answers only up to its high
   * watermark. `leaderEpoch` is the epoch the client's metadata names (-1: none), as Kafka's
   * consumers send it: a broker on another epoch answers FENCED_LEADER_EPOCH or
   * UNKNOWN_LEADER_EPOCH instead of data. With `readCommitted` (isolation level 1) the answer
   * stops at the last stable offset and lists the aborted transactions it overlaps.
   */
  async fetch(
    address: Address, topic: string, partition: number, offset: number, leaderEpoch: number, maxWaitMs: number, deadlineMs: number, readCommitted = false,
  ): Promise<Outcome<FetchAnswer>> {
    type Partition = { errorCode: number; highWatermark: number; lastStableOffset: number; abortedTransactions: AbortedTransaction[] | null; records: Buffer | null };
    const r = await this.call<{ errorCode: number; responses: { partitions: Partition[] }[] }>(
      address, ApiKey.Fetch, 12, {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes: 4 << 20,
        isolationLevel: readCommitted ? 1 : 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: leaderEpoch, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      }, deadlineMs);
    if (r.kind !== 'ok') return r;
    if (r.value.errorCode !== 0) return { kind: 'error', errorCode: r.value.errorCode };
    const p = r.value.responses[0]!.partitions[0]!;
    if (p.errorCode !== 0) return { kind: 'error', errorCode: p.errorCode };
    const batches = p.records ? parseBatches(p.records) : [];
    return {
      kind: 'ok',
      value: {
        highWatermark: Number(p.highWatermark),
        lastStableOffset: Number(p.lastStableOffset),
        records: batches.flatMap((b) => b.records).filter((x) => x.offset >= offset),
        batches,
        abortedTransactions: (p.abortedTransactions ?? []).map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) })),
      },
    };
  }

  /**
   * InitProducerId v4: without a transactional id, an idempotent producer's id; with one
   * (sent to its coordinator), the id's producer with its epoch bumped, which fences older
   * epochs and aborts a transaction they left open.
   */
  async initProducerId(address: Address, deadlineMs = 5000, txn?: { transactionalId: string; timeoutMs: number }): Promise<Outcome<IdempotentIdentity>> {
    const r = await this.call<{ errorCode: number; producerId: number; producerEpoch: number }>(address, ApiKey.InitProducerId, 4, {
      transactionalId: txn?.transactionalId ?? null,
      transactionTimeoutMs: txn?.timeoutMs ?? -1,
      producerId: -1,
      producerEpoch: -1,
    }, deadlineMs);
    if (r.kind !== 'ok') return r;
    if (r.value.errorCode !== 0) return { kind: 'error', errorCode: r.value.errorCode };
    return { kind: 'ok', value: { producerId: Number(r.value.producerId), producerEpoch: r.value.producerEpoch } };
  }

  /** FindCoordinator v3 of one key: the coordinator's address. */
  async findCoordinator(address: Address, key: string, keyType: CoordinatorType, deadlineMs = 2000): Promise<Outcome<{ nodeId: number; address: Address }>> {
    const r = await this.call<{ errorCode: number; nodeId: number; host: string; port: number }>(address, ApiKey.FindCoordinator, 3, { key, keyType }, deadlineMs);
    if (r.kind !== 'ok') return r;
    if (r.value.errorCode !== 0) return { kind: 'error', errorCode: r.value.errorCode };
    return { kind: 'ok', value: { nodeId: r.value.nodeId, address: `${r.value.host}:${r.value.port}` } };
  }

  /**
   * AddPartitionsToTxn v3 (one transaction, added explicitly before its first batch to each
   * partition, as clients before transactions v2 do); the first partition error, if any.
   */
  async addPartitionsToTxn(address: Address, transactionalId: string, id: IdempotentIdentity, topic: string, partitions: number[], deadlineMs: number): Promise<Outcome<null>> {
    const r = await this.call<{ errorCode: number; resultsByTopicV3AndBelow: { resultsByPartition: { partitionErrorCode: number }[] }[] }>(
      address, ApiKey.AddPartitionsToTxn, 3, {
        v3AndBelowTransactionalId: transactionalId,
        v3AndBelowProducerId: id.producerId,
        v3AndBelowProducerEpoch: id.producerEpoch,
        v3AndBelowTopics: [{ name: topic, partitions }],
      }, deadlineMs);
    if (r.kind !== 'ok') return r;
    const codes = r.value.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));
    const error = codes.find((c) => c !== 0 && c !== ErrorCode.OPERATION_NOT_ATTEMPTED) ?? codes.find((c) => c !== 0);
    return error === undefined ? { kind: 'ok', value: null } : { kind: 'error', errorCode: error };
  }

  /** EndTxn v3: commit or abort the id's ongoing transaction. */
  async endTxn(address: Address, transactionalId: string, id: IdempotentIdentity, commit: boolean, deadlineMs: number): Promise<Outcome<null>> {
    const r = await this.call<{ errorCode: number }>(address, ApiKey.EndTxn, 3, {
      transactionalId,
      producerId: id.producerId,
      producerEpoch: id.producerEpoch,
      committed: commit,
    }, deadlineMs);
    if (r.kind !== 'ok') return r;
    return r.value.errorCode === 0 ? { kind: 'ok', value: null } : { kind: 'error', errorCode: r.value.errorCode };
  }

  /** CreateTopics v7 of one topic; the answer's error code (0: created). */
  async createTopic(address: Address, topic: string, partitions: number, replicationFactor: number, deadlineMs = 30_000): Promise<Outcome<{ errorMessage: string | null }>> {
    const r = await this.call<{ topics: { errorCode: number; errorMessage: string | null }[] }>(address, ApiKey.CreateTopics, 7, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor, assignments: [], configs: [] }],
      timeoutMs: Math.max(1000, deadlineMs - 5000),
      validateOnly: false,
    }, deadlineMs);
    if (r.kind !== 'ok') return r;
    const t = r.value.topics[0]!;
    if (t.errorCode !== 0) return { kind: 'error', errorCode: t.errorCode };
    return { kind: 'ok', value: { errorMessage: t.errorMessage } };
  }
}
