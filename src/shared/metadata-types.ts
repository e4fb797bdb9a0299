/**
 * What crosses between the main thread and the raft worker (structured clone over
 * postMessage: metadata changes are rare, so no ring is needed here).
 *
 *   main -> raft: RaftWorkerData (workerData), then MainToRaftMessage
 *   raft -> main: RaftToMainMessage
 *
 * A `metadata` message is sent once at start (after the metadata log is recovered) and after
 * every applied batch that changed something. Each `request` gets exactly one `response`
 * with the same id; `shutdown` is answered by `stopped` once the Raft driver is stopped and
 * its files are closed. A worker that cannot start sends `fatal`, then answers every request
 * with NOT_CONTROLLER.
 */
import type { ThreadStatsLayout } from './metrics/thread-stats.js';

import type { AclBinding, AclFilter, StoredAcl } from './acl.js';

export interface HostPort { host: string; port: number }

/** A client listener as clients reach it: its name (PLAINTEXT, SASL_SSL, ...) and address. */
export interface ListenerEndpoint extends HostPort { name: string }

export interface RaftVoter extends HostPort { id: number }

export interface RaftWorkerSettings {
  /** `num.partitions`: used when CreateTopics asks for -1 partitions. */
  numPartitions: number;
  /** `default.replication.factor`: used when CreateTopics asks for replication factor -1. */
  defaultReplicationFactor: number;
  /** `broker.session.timeout.ms`: a broker silent this long is fenced. */
  brokerSessionTimeoutMs: number;
  /** `broker.session.fast.fence.ms`: a broker whose connection closed is fenced this long after. */
  brokerFastFenceMs?: number;
  /** `max.broker.partitions`: partition replicas one broker may host (KIP-578's name). */
  maxBrokerPartitions?: number;
  /** `broker.heartbeat.interval.ms`. */
  brokerHeartbeatIntervalMs: number;
  /** Raft election timeout (`controller.quorum.election.timeout.ms`). */
  electionTimeoutMs: number;
  /** `auto.leader.rebalance.enable`. */
  autoLeaderRebalance?: boolean;
}

export interface RaftWorkerData {
  nodeId: number;
  /**
   * SCRAM credentials to write with the cluster id when the metadata log is new (`--add-scram`),
   * as `kafka-storage format --add-scram` does; ignored when the log already has a cluster.
   */
  bootstrapScram?: ScramUpsertion[];
  /** Written by the first leader when the log has none; generated when absent. */
  clusterId?: string;
  voters: RaftVoter[];
  controllerListen: HostPort;
  /** PEM key, chain and trusted CAs of an SSL controller listener (mutual TLS between voters). */
  controllerTls?: { key: string; cert: string; ca: string; passphrase: string | null; verifyHostname: boolean };
  metadataDir: string;
  /** The client listener this broker registers with (the inter-broker one). */
  advertised: HostPort;
  /** Every client listener, as advertised: Metadata answers each client with the one it came in on. */
  advertisedListeners: ListenerEndpoint[];
  rack: string | null;
  settings: RaftWorkerSettings;
  /** Where this thread records its event-loop delay and GC pauses (its slot: 1). */
  threadStats: ThreadStatsLayout;
  /** Where the quorum's latencies and state are recorded (raft-stats.ts), read by the metrics endpoint. */
  raftStats: SharedArrayBuffer;
}

export interface BrokerMetadata {
  id: number;
  /** The inter-broker listener's address. */
  host: string;
  port: number;
  /** Every client listener's address (registrations written before listeners were recorded: none). */
  listeners: ListenerEndpoint[];
  rack: string | null;
  fenced: boolean;
}

export interface PartitionMetadata {
  partition: number;
  /** -1 when no in-sync replica is alive. */
  leader: number;
  leaderEpoch: number;
  /** During a reassignment: the target replicas first, then those being removed. */
  replicas: number[];
  isr: number[];
  partitionEpoch: number;
  /** Present during a reassignment: replicas being added (catching up) and being removed. */
  reassignment?: { adding: number[]; removing: number[] };
}

export interface TopicMetadata {
  name: string;
  /** 32 lowercase hex chars (the 16-byte topic id). */
  id: string;
  configs: Record<string, string>;
  partitions: PartitionMetadata[];
}

export interface MetadataSnapshot {
  clusterId: string;
  /** The node leading the metadata quorum, -1 when none is known. */
  controllerId: number;
  /** Offset (Raft index) of the last applied metadata entry. */
  offset: number;
  brokers: BrokerMetadata[];
  topics: TopicMetadata[];
  /** Stored SCRAM credentials (salted keys, never passwords), which every broker checks logins against. */
  scram: ScramCredentialInfo[];
  /** Access control entries, which every broker's authorizer decides with. */
  acls: StoredAcl[];
  /** Dynamic broker settings by broker id ('' for the cluster default), then by name. */
  brokerConfigs: Record<string, Record<string, string>>;
}

/** Kafka's CreateAcls: each binding is stored unless invalid; an identical one is not stored twice. */
export interface CreateAclsRequest { op: 'createAcls'; creations: AclBinding[]; timeoutMs: number }

/** Kafka's DeleteAcls: every binding each filter matches is removed. */
export interface DeleteAclsRequest { op: 'deleteAcls'; filters: AclFilter[]; timeoutMs: number }

/** One result per creation or filter: its error, and for deletions the bindings removed. */
export interface AclResult { errorCode: number; errorMessage: string | null; deleted?: AclBinding[] }

/** A stored SCRAM credential; bytes as lowercase hex. `mechanism`: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512. */
export interface ScramCredentialInfo {
  user: string;
  mechanism: number;
  salt: string;
  storedKey: string;
  serverKey: string;
  iterations: number;
}

export type ScramUpsertion = ScramCredentialInfo;

export interface ScramDeletion { user: string; mechanism: number }

/** Kafka's AlterUserScramCredentials: all of one user's changes commit together or not at all. */
export interface AlterScramRequest {
  op: 'alterUserScramCredentials'; deletions: ScramDeletion[]; upsertions: ScramUpsertion[]; timeoutMs: number;
}

export interface UserResult { user: string; errorCode: number; errorMessage: string | null }

export interface CreatableTopic {
  name: string;
  /** -1: `num.partitions`. */
  numPartitions: number;
  /** -1: `default.replication.factor`. */
  replicationFactor: number;
  /** Manual placement; numPartitions and replicationFactor must then be -1. */
  assignments?: { partition: number; replicas: number[] }[];
  configs: Record<string, string>;
}

export interface CreateTopicsRequest { op: 'createTopics'; topics: CreatableTopic[]; validateOnly: boolean; timeoutMs: number }

export type DeletableTopic = { name: string } | { id: string };

export interface DeleteTopicsRequest { op: 'deleteTopics'; topics: DeletableTopic[]; timeoutMs: number }

export interface CreatePartitionsTopic {
  name: string;
  /** The new total partition count. */
  count: number;
  /** Replicas of each new partition, in partition order. */
  assignments?: number[][];
}

export interface CreatePartitionsRequest {
  op: 'createPartitions'; topics: CreatePartitionsTopic[]; validateOnly: boolean; timeoutMs: number;
}

/**
 * A partition leader's ISR change (Kafka's AlterPartition). Accepted only when the leader
 * epoch and partition epoch still match the controller's; the result carries the state after
 * the change (or the current one with the error).
 */
export interface AlterPartitionRequest {
  op: 'alterPartition'; brokerId: number; brokerEpoch: number; topicId: string; partition: number;
  leaderEpoch: number; partitionEpoch: number; isr: number[]; timeoutMs: number;
}

/**
 * A block of producer ids for this broker to hand out (Kafka's AllocateProducerIds). The raft
 * worker asks the controller in the name of its own broker registration; the block is
 * answered once its record commits.
 */
export interface AllocateProducerIdsRequest { op: 'allocateProducerIds'; timeoutMs: number }

/** The ids [firstProducerId, firstProducerId + size), or an error code and size 0. */
export interface ProducerIdBlock {
  errorCode: number;
  errorMessage: string | null;
  firstProducerId: number;
  size: number;
}

/** Kafka's config resource types. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** Kafka's IncrementalAlterConfigs operations. */
export const ConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface ConfigResourceChange {
  resourceType: number;
  /** Topic name; broker id, or '' for the cluster default. */
  resourceName: string;
  changes: { name: string; op: number; value: string | null }[];
}

/**
 * Kafka's IncrementalAlterConfigs (`incremental`) and AlterConfigs (the listed configs
 * replace every dynamic config of the resource). One result per resource, in order.
 */
export interface AlterConfigsRequest {
  op: 'alterConfigs'; resources: ConfigResourceChange[]; incremental: boolean; validateOnly: boolean; timeoutMs: number;
}

export interface ConfigResult { errorCode: number; errorMessage: string | null }

/** Kafka's ElectLeaders: electionType 0 preferred, 1 unclean; null partitions: all of them. */
export interface ElectLeadersRequest {
  op: 'electLeaders'; electionType: number; partitions: { topic: string; partition: number }[] | null; timeoutMs: number;
}

export interface ElectionResult { topic: string; partition: number; errorCode: number; errorMessage: string | null }

/** Kafka's AlterPartitionReassignments: target replicas per partition, null to cancel. */
export interface AlterReassignmentsRequest {
  op: 'alterReassignments'; partitions: { topic: string; partition: number; replicas: number[] | null }[]; timeoutMs: number;
}

/** Kafka's ListPartitionReassignments is answered from metadata; this is what the controller decides. */
export type ReassignmentResult = ElectionResult;

export type AdminRequest = CreateTopicsRequest | DeleteTopicsRequest | CreatePartitionsRequest;

export interface TopicResult {
  /** Empty when a topic was named by an unknown id. */
  name: string;
  id?: string;
  errorCode: number;
  errorMessage: string | null;
  numPartitions?: number;
  replicationFactor?: number;
}

export interface AlterPartitionResult {
  errorCode: number;
  errorMessage: string | null;
  partition?: PartitionMetadata;
}

export type MainToRaftMessage =
  | ({ type: 'request'; id: number } & AdminRequest)
  | ({ type: 'request'; id: number } & (CreateAclsRequest | DeleteAclsRequest))
  | ({ type: 'request'; id: number } & AlterScramRequest)
  | ({ type: 'request'; id: number } & AlterPartitionRequest)
  | ({ type: 'request'; id: number } & AllocateProducerIdsRequest)
  | ({ type: 'request'; id: number } & AlterConfigsRequest)
  | ({ type: 'request'; id: number } & ElectLeadersRequest)
  | ({ type: 'request'; id: number } & AlterReassignmentsRequest)
  | { type: 'shutdown' };

export type RaftToMainMessage =
  | { type: 'metadata'; snapshot: MetadataSnapshot }
  | { type: 'response'; id: number; results: TopicResult[] }
  | { type: 'alterPartitionResponse'; id: number; result: AlterPartitionResult }
  | { type: 'allocateProducerIdsResponse'; id: number; result: ProducerIdBlock }
  | { type: 'userResponse'; id: number; results: UserResult[] }
  | { type: 'aclResponse'; id: number; results: AclResult[] }
  | { type: 'configResponse'; id: number; results: ConfigResult[] }
  | { type: 'electionResponse'; id: number; results: ElectionResult[] }
  | { type: 'stopped' }
  /** The worker could not start (metadata dir locked or unreadable, port taken...); it answers nothing more. */
  | { type: 'fatal'; message: string };
