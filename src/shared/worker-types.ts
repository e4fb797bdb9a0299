/**
 * Control messages between the main thread and the partition workers (postMessage: these
 * are rare, the hot path uses the rings of thread-messages.ts).
 */
import type { LogConfig } from '../workers/partition/log/config.js';

export interface PartitionWorkerData {
  index: number;
  nodeId: number;
  logDir: string;
  logConfig: LogConfig;
  /** The previous shutdown was clean: logs may skip the recovery scan. */
  cleanShutdown: boolean;
  /** main -> worker ring */
  requests: SharedArrayBuffer;
  /** worker -> main ring */
  responses: SharedArrayBuffer;
}

export interface HostedPartition {
  topic: string;
  partition: number;
  leaderEpoch: number;
  isLeader: boolean;
}

/** main -> worker */
export type WorkerControl =
  | { type: 'hosted'; partitions: HostedPartition[]; deletedTopics: string[] }
  | { type: 'shutdown' };

/** worker -> main */
export type WorkerEvent =
  | { type: 'ready'; partitions: number }
  | { type: 'hosted-applied' }
  | { type: 'stopped' }
  | { type: 'fatal'; message: string };
