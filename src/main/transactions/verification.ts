/**
 * Transaction verification at a partition leader (KIP-890): before the first transactional
 * batch of a producer's transaction goes into a partition, the leader asks the transaction's
 * coordinator whether the partition is in that producer's ongoing transaction
 * (AddPartitionsToTxn v4, verify only; a direct call when the coordinator is this broker).
 * A batch that arrives after its transaction ended (a late retry, a zombie) would otherwise
 * open a transaction no coordinator knows of, which would hold the last stable offset back
 * for good. A positive answer is remembered for the producer, epoch, partition and leader
 * epoch until a marker for the producer goes into the partition.
 *
 * Transactions v2 (Produce v12+, TxnOffsetCommit v5+): the client adds no partitions itself;
 * the leader asks the coordinator to add the partition (AddPartitionsToTxn v5, not verify
 * only). The client may start its next transaction while the coordinator still writes the
 * markers of the last one; such an add is tried again here once that transaction has ended
 * (as Kafka's broker retries it), up to a bound, before the produce is answered with an
 * error the client retries after its backoff.
 */
import { ErrorCode } from '../../shared/errors.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import { EPOCH_BUMP_VERSION } from '../../shared/transactions/txn-metadata.js';
import type { MetadataCache } from '../metadata-cache.js';
import type { TxnCoordinator } from './coordinator.js';
import type { InterBrokerRequests } from './inter-broker.js';

const VERIFY_VERSION = 4;
const ADD_VERSION = 5;
/**
 * How long an add waits out CONCURRENT_TRANSACTIONS. Kafka's bound is 100 ms
 * (add.partitions.to.txn.retry.backoff.max.ms), where markers are not synced to disk; here
 * they are, and the client's own retry would cost its 100 ms backoff.
 */
const ADD_RETRY_MAX_MS = 1000;
/** The pause between adds when the coordinator is another broker (Kafka's add.partitions.to.txn.retry.backoff.ms). */
const ADD_RETRY_BACKOFF_MS = 20;

export interface PartitionToVerify {
  topic: string;
  partition: number;
  leaderEpoch: number;
}

export interface VerifierDeps {
  nodeId: number;
  metadata: MetadataCache;
  txns: TxnCoordinator;
  brokers: InterBrokerRequests;
}

/** What a produce answers for a verification that did not pass. */
function produceError(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.PRODUCER_FENCED:
    case ErrorCode.INVALID_PRODUCER_EPOCH:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.INVALID_TXN_STATE:
    case ErrorCode.INVALID_PRODUCER_ID_MAPPING:
      return ErrorCode.INVALID_TXN_STATE;
    default:
      // The coordinator is moving or loading: an error every client retries.
      return ErrorCode.NOT_ENOUGH_REPLICAS;
  }
}

export class TxnVerifier {
  /** producer id → `${epoch}/${leaderEpoch}/${partition}/${topic}` verified. */
  private readonly verified = new Map<number, Set<string>>();

  constructor(private readonly deps: VerifierDeps) {}

  /** One produce error code per partition, in order: NONE where the batch may go in. `add`: a v2 transaction's. */
  async verify(transactionalId: string, producerId: number, producerEpoch: number, partitions: PartitionToVerify[], add = false): Promise<number[]> {
    const known = this.verified.get(producerId);
    const keyOf = (p: PartitionToVerify): string => `${producerEpoch}/${p.leaderEpoch}/${p.partition}/${p.topic}`;
    const ask = partitions.filter((p) => !known?.has(keyOf(p)));
    const codes = new Map<PartitionToVerify, number>();
    if (ask.length > 0) {
      const byTopic = new Map<string, number[]>();
      for (const p of ask) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      const topics = [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
      const answers = add ? await this.add(transactionalId, producerId, producerEpoch, topics) : await this.ask(transactionalId, producerId, producerEpoch, topics, false);
      for (const p of ask) {
        const code = produceError(answers.get(`${p.partition}/${p.topic}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR);
        codes.set(p, code);
        if (code === ErrorCode.NONE) {
          let set = this.verified.get(producerId);
          if (!set) this.verified.set(producerId, (set = new Set()));
          set.add(keyOf(p));
        }
      }
    }
    return partitions.map((p) => codes.get(p) ?? ErrorCode.NONE);
  }

  /** A marker for the producer went into the partition: its next transaction there is verified again. */
  ended(topic: string, partition: number, producerId: number): void {
    const set = this.verified.get(producerId);
    if (!set) return;
    for (const k of set) if (k.endsWith(`/${partition}/${topic}`)) set.delete(k);
    if (set.size === 0) this.verified.delete(producerId);
  }

  /** Asks for the add until it is not refused for a transaction still ending, or the time is up. */
  private async add(transactionalId: string, producerId: number, producerEpoch: number, topics: { topic: string; partitions: number[] }[]): Promise<Map<string, number>> {
    const deadline = Date.now() + ADD_RETRY_MAX_MS;
    for (;;) {
      const answers = await this.ask(transactionalId, producerId, producerEpoch, topics, true);
      const busy = [...answers.values()].some((c) => c === ErrorCode.CONCURRENT_TRANSACTIONS);
      const left = deadline - Date.now();
      if (!busy || left <= 0) return answers;
      if (this.deps.txns.coordinatorOf(transactionalId) === this.deps.nodeId) await this.deps.txns.settled(transactionalId, left);
      else await new Promise((resolve) => setTimeout(resolve, Math.min(ADD_RETRY_BACKOFF_MS, left)));
    }
  }

  /** The coordinator's answers by `${partition}/${topic}`. */
  private async ask(transactionalId: string, producerId: number, producerEpoch: number, topics: { topic: string; partitions: number[] }[], add: boolean): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const all = (code: number): Map<string, number> => {
      for (const t of topics) for (const p of t.partitions) out.set(`${p}/${t.topic}`, code);
      return out;
    };
    const coordinator = this.deps.txns.coordinatorOf(transactionalId);
    if (coordinator < 0) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const i = { transactionalId, producerId, producerEpoch };
    if (coordinator === this.deps.nodeId) return all(add ? await this.deps.txns.addPartitions(i, topics, EPOCH_BUMP_VERSION) : this.deps.txns.verify(i, topics));
    try {
      const r = await this.deps.brokers.request(coordinator, ApiKey.AddPartitionsToTxn, add ? ADD_VERSION : VERIFY_VERSION, {
        transactions: [{ ...i, verifyOnly: !add, topics: topics.map((t) => ({ name: t.topic, partitions: t.partitions })) }],
      });
      if (r.errorCode !== ErrorCode.NONE) return all(r.errorCode);
      for (const txn of r.resultsByTransaction) {
        for (const t of txn.topicResults) for (const p of t.resultsByPartition) out.set(`${p.partitionIndex}/${t.name}`, p.partitionErrorCode);
      }
      return out;
    } catch {
      return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }
}
