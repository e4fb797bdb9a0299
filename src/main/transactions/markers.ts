/**
 * Writing transaction markers: the control batch that commits or aborts one producer's
 * transaction, appended by every partition's leader. A transaction coordinator hands a
 * transaction's partitions here; those this broker leads get the marker through their
 * partition worker (acks=all, so the marker is replicated before it counts), the others
 * through WriteTxnMarkers to their leader (inter-broker.ts).
 * The WriteTxnMarkers handler uses the same local path.
 */
import { buildMarkerBatch } from '../../shared/control-records.js';
import { ErrorCode } from '../../shared/errors.js';
import { childLogger } from '../../shared/logger.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import type { TopicPartitions } from '../../shared/transactions/records.js';
import { MsgType, type ProduceResultMsg } from '../../shared/thread-messages.js';
import type { MetadataCache } from '../metadata-cache.js';
import type { PartitionWorkers } from '../partition-workers.js';
import { scatter } from '../scatter.js';
import type { InterBrokerRequests } from './inter-broker.js';

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
  /** Told of every marker written here (offsets committed in a transaction settle, verifications expire). */
  onMarker(topic: string, partition: number, producerId: number, commit: boolean): void;
}

const log = childLogger({ thread: 'main', component: 'txn-markers' });

/** Appends the marker to partitions this broker leads; one error code per partition, in order. */
export async function appendLocalMarkers(deps: MarkerDeps, m: MarkerSpec, topic: string, partitions: number[]): Promise<number[]> {
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
    if (r.error === ErrorCode.NONE) deps.onMarker(topic, partitions[at[j]!]!, m.producerId, m.commit);
  });
  return codes;
}

export class MarkerWriter {
  constructor(private readonly deps: MarkerDeps, private readonly brokers: InterBrokerRequests) {}

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

  private async local(m: MarkerSpec, tps: TopicPartitions[]): Promise<boolean> {
    const codes = (await Promise.all(tps.map((tp) => appendLocalMarkers(this.deps, m, tp.topic, tp.partitions)))).flat();
    return codes.every(done);
  }

  private async remote(leader: number, m: MarkerSpec, tps: TopicPartitions[]): Promise<boolean> {
    const body = {
      markers: [{
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        transactionResult: m.commit,
        coordinatorEpoch: m.coordinatorEpoch,
        topics: tps.map((tp) => ({ name: tp.topic, partitionIndexes: tp.partitions })),
      }],
    };
    try {
      const r = await this.brokers.request(leader, ApiKey.WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, body);
      return r.markers.every((mk) => mk.topics.every((t) => t.partitions.every((p) => done(p.errorCode))));
    } catch (e) {
      log.warn({ leader, err: (e as Error).message }, 'writing transaction markers failed');
      return false;
    }
  }
}

function done(errorCode: number): boolean {
  return errorCode === ErrorCode.NONE || errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
}
