/**
 * Control messages between the main thread and the partition workers (postMessage: these
 * are rare, the hot path uses the rings of thread-messages.ts).
 */
import type { InterBrokerClient } from './broker-connection.js';
import type { LogConfig } from './log-config.js';
import type { CleanResult, CleanTask } from './clean-task.js';
import type { ThreadStatsLayout } from './metrics/thread-stats.js';

export interface PartitionWorkerData {
  index: number;
  /** How many partition workers share the partitions. */
  workers: number;
  nodeId: number;
  /** How followers connect to their leaders (TLS, SASL), as the inter-broker listener says. */
  interBroker: InterBrokerClient;
  /** replica.lag.time.max.ms */
  replicaLagTimeMaxMs: number;
  /** replica.high.watermark.checkpoint.interval.ms */
  highWatermarkCheckpointIntervalMs: number;
  logDir: string;
  logConfig: LogConfig;
  /** File descriptors this worker's log files may hold open (its share of the process limit). */
  maxOpenFiles: number;
  /** The previous shutdown was clean: logs may skip the recovery scan. */
  cleanShutdown: boolean;
  /** The log cleaner's settings; null when log.cleaner.enable is false. */
  cleaner: { backoffMs: number; offsetMapBytes: number } | null;
  /** main -> worker ring */
  requests: SharedArrayBuffer;
  /** worker -> main ring */
  responses: SharedArrayBuffer;
  /** Where this thread records its event-loop delay and GC pauses (its slot: 2 + index). */
  threadStats: ThreadStatsLayout;
  /** Where this worker counts its replicas and group-commit rounds (partition-stats.ts, slot `index`). */
  partitionStats: SharedArrayBuffer;
  /** The broker's follower replication throttle, shared by every worker's fetchers (replication-quota.ts). */
  followerQuota: SharedArrayBuffer;
}

export interface HostedPartition {
  topic: string;
  /** 32 hex chars */
  topicId: string;
  partition: number;
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: number[];
  isr: number[];
  /** min.insync.replicas for this topic */
  minIsr: number;
  /** The topic's log settings where they differ from the broker's (its configs, dynamic broker settings). */
  logConfig: Partial<LogConfig>;
  /** This broker's replica is in the topic's follower.replication.throttled.replicas. */
  followerThrottled: boolean;
}

/** A hosted partition whose log could not be opened or created (it stays unavailable). */
export interface HostingFailure {
  topic: string;
  partition: number;
  error: string;
}

export interface BrokerEndpoint {
  id: number;
  host: string;
  port: number;
  /** Fenced by the controller: it may not join an ISR (Kafka's isReplicaIsrEligible). */
  fenced: boolean;
}

/** main -> worker */
export type WorkerControl =
  | { type: 'hosted'; partitions: HostedPartition[]; deletedTopics: string[]; brokers: BrokerEndpoint[] }
  /** The controller refused an ISR change this worker proposed. */
  | { type: 'alter-isr-refused'; topicId: string; partition: number; leaderEpoch: number; partitionEpoch: number; errorCode: number }
  /** DeleteRecords on a partition this worker leads: the log start moves to `offset` (-1: the high watermark). */
  | { type: 'delete-records'; id: number; topic: string; partition: number; offset: number }
  /** DescribeLogDirs: the size of every log this worker holds. */
  | { type: 'describe-logs'; id: number }
  /** DescribeProducers: the active producers of a partition this worker leads. */
  | { type: 'describe-producers'; id: number; topic: string; partition: number }
  /** The cleaner pool's answer to a `clean` event: the cleaned segments written, or why not. */
  | { type: 'cleaned'; id: number; result: CleanResult | null; error: string | null }
  | { type: 'shutdown' };

/** One log's size on disk and how far its end is below the high watermark (a follower catching up). */
export interface LogDescription { topic: string; partition: number; size: number; offsetLag: number }

/** One producer a partition's leader remembers (Kafka's DescribeProducers entry). */
export interface ActiveProducer {
  producerId: number;
  producerEpoch: number;
  /** The sequence of its last batch's last record; -1 when no batch of it is remembered. */
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  /** The first offset of its open transaction; -1 when none is open. */
  currentTxnStartOffset: number;
}

/** worker -> main */
export type WorkerEvent =
  | { type: 'ready'; partitions: number }
  | { type: 'hosted-applied'; failed: HostingFailure[] }
  | { type: 'stopped' }
  /** A leader asks the controller to change a partition's ISR (Kafka's AlterPartition). */
  | { type: 'alter-isr'; topicId: string; partition: number; leaderEpoch: number; partitionEpoch: number; isr: number[] }
  /** The outcome of a delete-records: the log start offset now (Kafka's low watermark). */
  | { type: 'delete-records-result'; id: number; errorCode: number; lowWatermark: number }
  | { type: 'logs-described'; id: number; logs: LogDescription[] }
  | { type: 'producers-described'; id: number; errorCode: number; producers: ActiveProducer[] }
  /** A cleaning for the cleaner pool, which runs in the main thread's piscina pool. */
  | { type: 'clean'; id: number; task: CleanTask }
  | { type: 'fatal'; message: string };
