/**
 * Writing transaction markers: the control batch that commits or aborts one producer's
 * transaction, appended by every partition's leader. A transaction coordinator hands a
 * transaction's partitions here; those this broker leads get the marker through their
 * partition worker (acks=all, so the marker is replicated before it counts), the others
 * through WriteTxnMarkers to their leader, one connection per broker, requests one at a time.
 * The WriteTxnMarkers handler uses the same local path. A marker written to a
 * `__consumer_offsets` partition also settles the offsets the transaction committed there.
 */
import type net from 'node:net';
import { dialBroker, exchange, type InterBrokerClient } from '../../shared/broker-connection.js';
import { buildMarkerBatch } from '../../shared/control-records.js';
import { ErrorCode } from '../../shared/errors.js';
import { OFFSETS_TOPIC } from '../../shared/groups/coordinator-partition.js';
import { childLogger } from '../../shared/logger.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import type { WriteTxnMarkersResponse } from '../../shared/protocol/generated/write-txn-markers-response.js';
import type { TopicPartitions } from '../../shared/transactions/records.js';
import { MsgType, type ProduceResultMsg } from '../../shared/thread-messages.js';
import type { MetadataCache } from '../metadata-cache.js';
import type { PartitionWorkers } from '../partition-workers.js';
import { scatter } from '../scatter.js';

const MARKER_TIMEOUT_MS = 30_000;
const WRITE_TXN_MARKERS_VERSION = 1;

export interface MarkerSpec {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

export interface MarkerDeps {
  nodeId: number;
  metadata: MetadataCache;
  workers: PartitionWorkers;
  interBroker: InterBrokerClient;
  /** Told of every marker written to a `__consumer_offsets` partition (offsets committed in a transaction). */
  groups: { completeTxn(partition: number, producerId: number, commit: boolean): void };
}

const log = childLogger({ thread: 'main', component: 'txn-markers' });

/** Appends the marker to partitions this broker leads; one error code per partition, in order. */
export async function appendLocalMarkers(deps: Omit<MarkerDeps, 'interBroker'>, m: MarkerSpec, topic: string, partitions: number[]): Promise<number[]> {
  const codes: number[] = partitions.map(() => ErrorCode.NONE);
  const parts = [];
  const at: number[] = [];
  for (let i = 0; i < partitions.length; i++) {
    const meta = deps.metadata.partition(topic, partitions[i]!);
    if (!meta) codes[i] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    else if (meta.leader !== deps.nodeId) codes[i] = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    else {
      at.push(i);
      parts.push({
        worker: deps.workers.ownerOf(topic, partitions[i]!),
        msg: {
          type: MsgType.PRODUCE,
          acks: -1,
          topic,
          partition: partitions[i]!,
          leaderEpoch: meta.leaderEpoch,
          timeoutMs: MARKER_TIMEOUT_MS,
          records: buildMarkerBatch(m.producerId, m.producerEpoch, m.commit, m.coordinatorEpoch),
          markers: true,
        },
      } as const);
    }
  }
  const results = await scatter<ProduceResultMsg>(deps.workers, parts);
  results.forEach((r, j) => {
    codes[at[j]!] = r.error;
    if (topic === OFFSETS_TOPIC && r.error === ErrorCode.NONE) deps.groups.completeTxn(partitions[at[j]!]!, m.producerId, m.commit);
  });
  return codes;
}

export class MarkerWriter {
  private readonly connections = new Map<number, { socket: Promise<net.Socket>; chain: Promise<unknown>; correlationId: number }>();

  constructor(private readonly deps: MarkerDeps) {}

  /**
   * Writes the marker at every partition; resolves true once all took it. A partition whose
   * topic is gone counts as done (there is nothing left to end).
   */
  async write(m: MarkerSpec, partitions: TopicPartitions[]): Promise<boolean> {
    const byLeader = new Map<number, TopicPartitions[]>();
    for (const tp of partitions) {
      for (const p of tp.partitions) {
        const meta = this.deps.metadata.partition(tp.topic, p);
        if (!meta) continue;
        if (meta.leader < 0) return false;
        let list = byLeader.get(meta.leader);
        if (!list) byLeader.set(meta.leader, (list = []));
        let entry = list.find((e) => e.topic === tp.topic);
        if (!entry) list.push((entry = { topic: tp.topic, partitions: [] }));
        entry.partitions.push(p);
      }
    }
    const outcomes = await Promise.all([...byLeader].map(([leader, tps]) => (leader === this.deps.nodeId ? this.local(m, tps) : this.remote(leader, m, tps))));
    return outcomes.every((ok) => ok);
  }

  close(): void {
    for (const c of this.connections.values()) void c.socket.then((s) => s.destroy(), () => undefined);
    this.connections.clear();
  }

  private async local(m: MarkerSpec, tps: TopicPartitions[]): Promise<boolean> {
    const codes = (await Promise.all(tps.map((tp) => appendLocalMarkers(this.deps, m, tp.topic, tp.partitions)))).flat();
    return codes.every((c) => c === ErrorCode.NONE || c === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }

  private async remote(leader: number, m: MarkerSpec, tps: TopicPartitions[]): Promise<boolean> {
    const broker = this.deps.metadata.broker(leader);
    if (!broker) return false;
    let c = this.connections.get(leader);
    if (!c) {
      const socket = dialBroker(broker.host, broker.port, this.deps.interBroker, `txn-coordinator-${this.deps.nodeId}`);
      socket.catch(() => undefined);
      c = { socket, chain: Promise.resolve(), correlationId: 1 };
      this.connections.set(leader, c);
    }
    const conn = c;
    const body = {
      markers: [{
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        transactionResult: m.commit,
        coordinatorEpoch: m.coordinatorEpoch,
        topics: tps.map((tp) => ({ name: tp.topic, partitionIndexes: tp.partitions })),
      }],
    };
    const sent = conn.chain.then(async () => {
      const socket = await conn.socket;
      return exchange<WriteTxnMarkersResponse>(socket, ApiKey.WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, conn.correlationId++, `txn-coordinator-${this.deps.nodeId}`, body);
    });
    conn.chain = sent.catch(() => undefined);
    try {
      const r = await sent;
      return r.markers.every((mk) => mk.topics.every((t) => t.partitions.every((p) => p.errorCode === ErrorCode.NONE || p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)));
    } catch (e) {
      log.warn({ leader, err: (e as Error).message }, 'writing transaction markers failed; reconnecting');
      if (this.connections.get(leader) === conn) this.connections.delete(leader);
      void conn.socket.then((s) => s.destroy(), () => undefined);
      return false;
    }
  }
}
