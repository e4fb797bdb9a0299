/**
 * What request handlers may use: the broker's configuration, its metadata cache, the raft
 * worker (admin requests) and the partition workers (data). Handlers hold no state of their own.
 */
import type { BrokerConfig } from '../shared/config.js';
import type { HostingFailure } from '../shared/worker-types.js';
import type { GroupCoordinator } from './groups/coordinator.js';
import type { MetadataCache } from './metadata-cache.js';
import type { PartitionWorkers } from './partition-workers.js';
import type { RaftClient } from './raft-client.js';
import type { ReplicationThrottles } from './replication-throttles.js';
import type { RequestMetrics } from './request-metrics.js';
import type { AccessControl } from './security/access-control.js';
import type { TopicMetrics } from './topic-metrics.js';
import type { TxnCoordinator } from './transactions/coordinator.js';
import type { TxnVerifier } from './transactions/verification.js';

export interface BrokerContext {
  config: BrokerConfig;
  metadata: MetadataCache;
  raft: RaftClient;
  workers: PartitionWorkers;
  /** Resolves once the partition workers host what the latest metadata assigns them. */
  hostedApplied(): Promise<void>;
  /** Assigned partitions whose logs this broker could not open, as of the last metadata applied. */
  hostingFailures(): readonly HostingFailure[];
  /** Consumer groups and committed offsets of the `__consumer_offsets` partitions this broker leads. */
  groups: GroupCoordinator;
  /** Transactional ids of the `__transaction_state` partitions this broker leads. */
  txns: TxnCoordinator;
  /** Checks a transactional produce against its transaction's coordinator (KIP-890). */
  txnVerifier: TxnVerifier;
  /** A transaction marker went into a partition led here. */
  onMarker(topic: string, partition: number, producerId: number, commit: boolean): void;
  /** The authorizer; null when none is configured (every request is allowed). */
  access: AccessControl | null;
  /** Messages and bytes in and out per topic, for the metrics endpoint. */
  topicMetrics: TopicMetrics;
  /** Per-API request figures; the dispatcher counts each response's error codes into it. */
  requestMetrics: RequestMetrics;
  /** The leader side of the replication throttles, applied to follower fetches. */
  throttles: ReplicationThrottles;
}
