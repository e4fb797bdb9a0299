/**
 * The controller: turns requests into the metadata records that carry them out. Pure: it
 * reads the committed image, takes the clock and randomness as arguments, and returns
 * records; the caller proposes them and answers once they commit.
 *
 * Only the node leading the metadata quorum runs a Controller, and it runs one request at a
 * time against an image that holds every earlier request's records: each decision is made
 * against committed state only, so two decisions never conflict. The one piece of state of
 * its own is each broker's last heartbeat time, which is not replicated: a new leader gives
 * every broker a full session from the moment it takes over (as Kafka's controller does).
 *
 * Broker lifecycle: a registration creates (or replaces) a fenced broker; a heartbeat from a
 * broker that has applied the log up to its own registration unfences it; a broker silent for
 * `brokerSessionTimeoutMs` is fenced by `tick`, and so is one asking for a controlled
 * shutdown. A process that dies closes its sockets, so a closed connection to a broker is a
 * strong hint that it is gone: `tick` fences it `brokerFastFenceMs` after the close unless a
 * heartbeat or registration of the same incarnation arrives first. Fencing a live broker by
 * mistake costs availability, never data: its leader epochs are stale from then on, so it
 * cannot grow an ISR or acknowledge a write, and it is unfenced again by its next heartbeat. Fencing removes the broker from every ISR it is in (except as the last member)
 * and moves its leaderships to a live ISR member, or to -1 when there is none: no unclean
 * election. Unfencing gives the broker back the leaderless partitions whose ISR holds it.
 *
 * Producer ids: a registered broker asks for a block of PRODUCER_ID_BLOCK_SIZE ids at a time
 * and hands them out itself (Kafka's AllocateProducerIds); the block is its own once the
 * ProducerIdsRecord commits.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type {
  AclResult,
  AlterConfigsRequest,
  ConfigResult,
  ElectionResult,
  ElectLeadersRequest,
  AlterReassignmentsRequest,
  ReassignmentResult,
  CreateAclsRequest,
  DeleteAclsRequest,
  AlterScramRequest,
  AlterPartitionRequest,
  AlterPartitionResult,
  CreatableTopic,
  CreatePartitionsRequest,
  CreateTopicsRequest,
  DeleteTopicsRequest,
  ProducerIdBlock,
  TopicResult,
  UserResult,
} from '../../../shared/metadata-types.js';
import { scramKey, type MetadataImage, type PartitionState, type TopicState } from './image.js';
import { decideCreateAcls, decideDeleteAcls } from './acls.js';
import { decideAlterConfigs } from './configs.js';
import { decideElectLeaders } from './elections.js';
import { decideAlterReassignments, finished, targetOf } from './reassignments.js';
import { placeReplicas } from './placement.js';
import type { Decision, MetadataRecord, PartitionChangeRecord, PartitionRecord } from './records.js';
import { collisionKey, reservedTopicError, topicNameError } from '../../../shared/topic-name.js';
import type { ListenerEndpoint } from '../../../shared/metadata-types.js';

export interface ControllerSettings {
  numPartitions: number;
  defaultReplicationFactor: number;
  brokerSessionTimeoutMs: number;
  /**
   * broker.session.fast.fence.ms: how long after its connection closed a broker is fenced
   * when no heartbeat of its incarnation came since; absent, a close alone fences nobody.
   */
  brokerFastFenceMs?: number;
  /** auto.leader.rebalance.enable: leadership returns to the first replica once it is in the ISR. */
  autoLeaderRebalance?: boolean;
  /**
   * max.broker.partitions: partition replicas one broker may host. Every partition costs the
   * metadata image, the quorum's snapshots and each hosting broker memory; past this a create
   * is refused whole (POLICY_VIOLATION) rather than let a few large requests exhaust them.
   */
  maxBrokerPartitions?: number;
}

/** Randomness, injected so that tests can fix it. */
export interface ControllerRandom {
  /** An integer in [0, bound). */
  int(bound: number): number;
  /** 16 random bytes as 32 hex chars. */
  id(): string;
}

export interface BrokerRegistration {
  brokerId: number;
  incarnationId: string;
  host: string;
  port: number;
  listeners: ListenerEndpoint[];
  rack: string | null;
}

export interface BrokerHeartbeat {
  brokerId: number;
  brokerEpoch: number;
  /** Offset of the last metadata entry the broker has applied. */
  metadataOffset: number;
  /** Controlled shutdown: fence now and move leaderships away. */
  wantShutDown: boolean;
}

export interface HeartbeatReply { errorCode: number; fenced: boolean }


/**
 * Records one CreateTopics or CreatePartitions may commit, Kafka's MAX_RECORDS_PER_USER_OP:
 * there is no cap on partitions per topic, but one operation becomes one metadata log entry,
 * and a larger one fails whole with POLICY_VIOLATION, as in Kafka.
 */
export const MAX_RECORDS_PER_USER_OP = 10_000;
const TOO_LARGE = 'Unable to perform excessively large batch operation.';

/** Producer ids per allocation, as Kafka's controller hands them out. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Producer ids are int64 on the wire; this broker keeps them exact as numbers. */
const MAX_PRODUCER_ID = Number.MAX_SAFE_INTEGER;

export class Controller {
  private readonly lastHeartbeatMs = new Map<number, number>();
  /** Unfenced brokers whose connection closed, and when, with no heartbeat from them since. */
  private readonly disconnectedAtMs = new Map<number, number>();

  constructor(
    private readonly image: MetadataImage,
    private readonly settings: ControllerSettings,
    private readonly random: ControllerRandom,
    private readonly activatedAtMs: number,
  ) {}

  createTopics(req: Pick<CreateTopicsRequest, 'topics' | 'validateOnly'>): Decision<TopicResult[]> {
    const records: MetadataRecord[] = [];
    const results: TopicResult[] = [];
    const counts = countBy(req.topics.map((t) => t.name));
    const takenKeys = new Set([...this.image.topicsByName.keys()].map(collisionKey));
    const hosted = this.replicasPerBroker();
    let recordCount = 0;
    for (const topic of req.topics) {
      if (counts.get(topic.name)! > 1) {
        results.push(topicError(topic.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
        continue;
      }
      const created = this.createTopic(topic, takenKeys);
      if ('errorCode' in created) {
        results.push(created);
        continue;
      }
      const over = this.overPartitionLimit(hosted, created.replicas);
      if (over !== null) {
        results.push(topicError(topic.name, ErrorCode.POLICY_VIOLATION, over));
        continue;
      }
      takenKeys.add(collisionKey(topic.name));
      const topicId = this.newTopicId();
      results.push({
        name: topic.name,
        ...(req.validateOnly ? {} : { id: topicId }),
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        numPartitions: created.replicas.length,
        replicationFactor: created.replicas[0]!.length,
      });
      recordCount += 1 + created.replicas.length + Object.keys(topic.configs).length;
      if (req.validateOnly || recordCount > MAX_RECORDS_PER_USER_OP) continue;
      records.push({ type: 'topic', name: topic.name, topicId });
      created.replicas.forEach((replicas, partition) => records.push(this.newPartition(topicId, partition, replicas)));
      for (const [name, value] of Object.entries(topic.configs)) records.push({ type: 'config', topicId, name, value });
    }
    if (recordCount > MAX_RECORDS_PER_USER_OP) return tooLarge(results);
    return { records, result: results };
  }

  /** How many partition replicas each broker hosts now. */
  private replicasPerBroker(): Map<number, number> {
    const hosted = new Map<number, number>();
    if (this.settings.maxBrokerPartitions === undefined) return hosted;
    for (const t of this.image.topicsById.values()) {
      for (const p of t.partitions) for (const r of p.replicas) hosted.set(r, (hosted.get(r) ?? 0) + 1);
    }
    return hosted;
  }

  /**
   * Why placing `replicas` would take a broker past max.broker.partitions, or null (then the
   * placement is counted in `hosted`, for the next topic of the same request).
   */
  private overPartitionLimit(hosted: Map<number, number>, replicas: number[][]): string | null {
    const max = this.settings.maxBrokerPartitions;
    if (max === undefined) return null;
    const added = new Map<number, number>();
    for (const rs of replicas) for (const r of rs) added.set(r, (added.get(r) ?? 0) + 1);
    for (const [broker, n] of added) {
      const now = hosted.get(broker) ?? 0;
      if (now + n > max) return `Broker ${broker} hosts ${now} partition replicas; ${n} more would pass max.broker.partitions (${max}).`;
    }
    for (const [broker, n] of added) hosted.set(broker, (hosted.get(broker) ?? 0) + n);
    return null;
  }

  /** The replicas of each partition of a valid new topic, or why it is not valid. */
  private createTopic(topic: CreatableTopic, takenKeys: Set<string>): { replicas: number[][] } | TopicResult {
    const reserved = reservedTopicError(topic.name);
    if (reserved !== null) return topicError(topic.name, ErrorCode.INVALID_REQUEST, reserved);
    const nameError = topicNameError(topic.name);
    if (nameError !== null) return topicError(topic.name, ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    if (this.image.topicsByName.has(topic.name)) {
      return topicError(topic.name, ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
    }
    if (takenKeys.has(collisionKey(topic.name))) {
      return topicError(topic.name, ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic '${topic.name}' collides with an existing topic: '.' and '_' are interchangeable.`);
    }
    for (const [name, value] of Object.entries(topic.configs)) {
      if (name === '' || typeof value !== 'string') {
        return topicError(topic.name, ErrorCode.INVALID_CONFIG, `Invalid config '${name}'.`);
      }
    }
    if (topic.assignments !== undefined && topic.assignments.length > 0) {
      if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
        return topicError(topic.name, ErrorCode.INVALID_REQUEST,
          'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
      }
      const sorted = [...topic.assignments].sort((a, b) => a.partition - b.partition);
      if (sorted.some((a, i) => a.partition !== i)) {
        return topicError(topic.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          'Partitions in the manual assignment must be numbered 0, 1, 2... with none missing.');
      }
      const error = this.assignmentError(sorted.map((a) => a.replicas), sorted[0]!.replicas.length);
      if (error !== null) return topicError(topic.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, error);
      return { replicas: sorted.map((a) => [...a.replicas]) };
    }
    const numPartitions = topic.numPartitions === -1 ? this.settings.numPartitions : topic.numPartitions;
    if (!Number.isInteger(numPartitions) || numPartitions <= 0) {
      return topicError(topic.name, ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    }
    // Refused before any placement is computed: a count of 2^30 must not build 2^30 arrays.
    if (numPartitions > MAX_RECORDS_PER_USER_OP) return topicError(topic.name, ErrorCode.POLICY_VIOLATION, TOO_LARGE);
    const rf = topic.replicationFactor === -1 ? this.settings.defaultReplicationFactor : topic.replicationFactor;
    const live = this.image.liveBrokerIds();
    if (!Number.isInteger(rf) || rf <= 0) {
      return topicError(topic.name, ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
    }
    if (rf > live.length) {
      return topicError(topic.name, ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${live.length} broker(s) are registered.`);
    }
    const start = this.random.int(live.length);
    return { replicas: placeReplicas(live, numPartitions, rf, 0, start, this.random.int(live.length)) };
  }

  deleteTopics(req: Pick<DeleteTopicsRequest, 'topics'>): Decision<TopicResult[]> {
    const records: MetadataRecord[] = [];
    const results: TopicResult[] = [];
    const found = req.topics.map((t) => ('id' in t ? this.image.topicsById.get(t.id) : this.image.topicsByName.get(t.name)));
    const counts = countBy(found.filter((t) => t !== undefined).map((t) => t.id));
    req.topics.forEach((wanted, i) => {
      const topic = found[i];
      if (topic === undefined) {
        results.push('id' in wanted
          ? { name: '', id: wanted.id, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'This server does not host this topic ID.' }
          : topicError(wanted.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.'));
      } else if (counts.get(topic.id)! > 1) {
        results.push({ name: topic.name, id: topic.id, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' });
      } else {
        results.push({ name: topic.name, id: topic.id, errorCode: ErrorCode.NONE, errorMessage: null });
        records.push({ type: 'removeTopic', topicId: topic.id });
      }
    });
    return { records, result: results };
  }

  createPartitions(req: Pick<CreatePartitionsRequest, 'topics' | 'validateOnly'>): Decision<TopicResult[]> {
    const records: MetadataRecord[] = [];
    const results: TopicResult[] = [];
    const counts = countBy(req.topics.map((t) => t.name));
    const hosted = this.replicasPerBroker();
    let recordCount = 0;
    for (const wanted of req.topics) {
      const topic = this.image.topicsByName.get(wanted.name);
      let outcome: number[][] | TopicResult;
      if (counts.get(wanted.name)! > 1) {
        outcome = topicError(wanted.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.');
      } else if (topic === undefined) {
        outcome = topicError(wanted.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
      } else {
        outcome = this.newPartitionsFor(topic, wanted.count, wanted.assignments);
        const over = Array.isArray(outcome) ? this.overPartitionLimit(hosted, outcome) : null;
        if (over !== null) outcome = topicError(wanted.name, ErrorCode.POLICY_VIOLATION, over);
      }
      if (!Array.isArray(outcome)) {
        results.push(outcome);
        continue;
      }
      results.push({ name: wanted.name, errorCode: ErrorCode.NONE, errorMessage: null });
      recordCount += outcome.length;
      if (req.validateOnly || recordCount > MAX_RECORDS_PER_USER_OP) continue;
      const first = topic!.partitions.length;
      outcome.forEach((replicas, i) => records.push(this.newPartition(topic!.id, first + i, replicas)));
    }
    if (recordCount > MAX_RECORDS_PER_USER_OP) return tooLarge(results);
    return { records, result: results };
  }

  private newPartitionsFor(topic: TopicState, count: number, assignments: number[][] | undefined): number[][] | TopicResult {
    const current = topic.partitions.length;
    if (!Number.isInteger(count) || count <= current) {
      return topicError(topic.name, ErrorCode.INVALID_PARTITIONS, count === current
        ? `Topic already has ${current} partitions.`
        : `Topic currently has ${current} partitions, which is higher than the requested ${count}.`);
    }
    if (count - current > MAX_RECORDS_PER_USER_OP) return topicError(topic.name, ErrorCode.POLICY_VIOLATION, TOO_LARGE);
    const rf = topic.partitions[0]?.replicas.length ?? 1;
    if (assignments !== undefined) {
      if (assignments.length !== count - current) {
        return topicError(topic.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Increasing the number of partitions by ${count - current} but ${assignments.length} assignments provided.`);
      }
      const error = this.assignmentError(assignments, rf);
      if (error !== null) return topicError(topic.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, error);
      return assignments.map((r) => [...r]);
    }
    const live = this.image.liveBrokerIds();
    if (rf > live.length) {
      return topicError(topic.name, ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${rf} time(s): only ${live.length} broker(s) are live.`);
    }
    // Continue the rotation the topic started with, as Kafka does when adding partitions.
    const firstLeader = topic.partitions[0]?.replicas[0];
    const at = firstLeader === undefined ? -1 : live.indexOf(firstLeader);
    const start = at >= 0 ? at : this.random.int(live.length);
    return placeReplicas(live, count - current, rf, current, start, start);
  }

  /** Why manual replica lists cannot be used, or null. */
  private assignmentError(lists: readonly (readonly number[])[], rf: number): string | null {
    for (const replicas of lists) {
      if (replicas.length === 0) return 'Every partition needs at least one replica.';
      if (replicas.length !== rf) return 'All partitions in the manual assignment must have the same number of replicas.';
      if (new Set(replicas).size !== replicas.length) return `Duplicate brokers in the replica list [${replicas.join(', ')}].`;
      const unknown = replicas.find((id) => !this.image.brokers.has(id));
      if (unknown !== undefined) return `Broker ${unknown} in the manual assignment is not registered.`;
      if (!replicas.some((id) => this.image.isLive(id))) {
        return `All brokers in the replica list [${replicas.join(', ')}] are fenced.`;
      }
    }
    return null;
  }

  /** A new partition: ISR = its live replicas (never empty), led by the first of them. */
  private newPartition(topicId: string, partition: number, replicas: number[]): PartitionRecord {
    const isr = replicas.filter((id) => this.image.isLive(id));
    return { type: 'partition', topicId, partition, replicas, isr, leader: isr[0]!, leaderEpoch: 0, partitionEpoch: 0 };
  }

  private newTopicId(): string {
    for (;;) {
      const id = this.random.id();
      if (id !== '0'.repeat(32) && !this.image.topicsById.has(id)) return id;
    }
  }

  registerBroker(req: BrokerRegistration, nowMs: number): Decision<{ errorCode: number }> {
    this.lastHeartbeatMs.set(req.brokerId, nowMs);
    this.disconnectedAtMs.delete(req.brokerId);
    const existing = this.image.brokers.get(req.brokerId);
    if (existing !== undefined && existing.incarnationId === req.incarnationId) {
      return { records: [], result: { errorCode: ErrorCode.NONE } };
    }
    // A new incarnation means the previous one is gone: its leaderships and ISR places go too.
    const records: MetadataRecord[] = [{
      type: 'registerBroker', brokerId: req.brokerId, brokerEpoch: 0, incarnationId: req.incarnationId,
      host: req.host, port: req.port, listeners: req.listeners, rack: req.rack, fenced: true,
    }];
    if (existing !== undefined) records.push(...this.removeFromPartitions(req.brokerId));
    return { records, result: { errorCode: ErrorCode.NONE } };
  }

  heartbeat(req: BrokerHeartbeat, nowMs: number): Decision<HeartbeatReply> {
    const broker = this.image.brokers.get(req.brokerId);
    if (broker === undefined) {
      return { records: [], result: { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, fenced: true } };
    }
    if (broker.epoch !== req.brokerEpoch) {
      return { records: [], result: { errorCode: ErrorCode.STALE_BROKER_EPOCH, fenced: true } };
    }
    this.lastHeartbeatMs.set(req.brokerId, nowMs);
    this.disconnectedAtMs.delete(req.brokerId);
    if (req.wantShutDown) {
      return { records: broker.fenced ? [] : this.fence(req.brokerId), result: { errorCode: ErrorCode.NONE, fenced: true } };
    }
    if (broker.fenced && req.metadataOffset >= broker.epoch) {
      return { records: this.unfence(req.brokerId), result: { errorCode: ErrorCode.NONE, fenced: false } };
    }
    return { records: [], result: { errorCode: ErrorCode.NONE, fenced: broker.fenced } };
  }

  /**
   * The connection to a broker closed at `atMs`. Only the first close counts until the broker
   * is heard from again, so that reconnect attempts that fail do not push its fencing back.
   */
  brokerDisconnected(brokerId: number, atMs: number): void {
    const broker = this.image.brokers.get(brokerId);
    if (broker === undefined || broker.fenced || this.settings.brokerFastFenceMs === undefined) return;
    if (!this.disconnectedAtMs.has(brokerId)) this.disconnectedAtMs.set(brokerId, atMs);
  }

  /** When `tick` must next run to fence a disconnected broker on time, or undefined when none is. */
  nextFastFenceMs(): number | undefined {
    const grace = this.settings.brokerFastFenceMs;
    const closes = [...this.disconnectedAtMs].filter(([id]) => this.image.isLive(id)).map(([, at]) => at);
    return grace === undefined || closes.length === 0 ? undefined : Math.min(...closes) + grace;
  }

  /**
   * Fences at most one broker: one whose connection closed the grace period ago, else one
   * whose session expired (the next tick takes the next one).
   */
  tick(nowMs: number): MetadataRecord[] {
    const grace = this.settings.brokerFastFenceMs;
    for (const [id, closedAt] of this.disconnectedAtMs) {
      // Fenced since (the fence committed, or the broker left by itself): nothing left to do.
      if (!this.image.isLive(id)) {
        this.disconnectedAtMs.delete(id);
      } else if (grace !== undefined && nowMs - closedAt >= grace) {
        return this.fence(id);
      }
    }
    for (const broker of this.image.brokers.values()) {
      if (broker.fenced) continue;
      const last = this.lastHeartbeatMs.get(broker.id) ?? this.activatedAtMs;
      if (nowMs - last > this.settings.brokerSessionTimeoutMs) return this.fence(broker.id);
    }
    return this.settings.autoLeaderRebalance ? this.preferredLeaders() : [];
  }

  /** Moves each partition's leadership to its first replica when that one is live and in sync. */
  private preferredLeaders(): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    for (const topic of this.image.topicsById.values()) {
      for (const p of topic.partitions) {
        const preferred = p.replicas[0];
        if (preferred === undefined || p.leader === preferred || !p.isr.includes(preferred) || !this.image.isLive(preferred)) continue;
        out.push({ type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: preferred, isr: p.isr });
      }
    }
    return out;
  }

  allocateProducerIds(req: { brokerId: number; brokerEpoch: number }): Decision<ProducerIdBlock> {
    const refuse = (errorCode: number, errorMessage: string): Decision<ProducerIdBlock> => ({
      records: [],
      result: { errorCode, errorMessage, firstProducerId: -1, size: 0 },
    });
    const broker = this.image.brokers.get(req.brokerId);
    if (broker === undefined) return refuse(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ${req.brokerId} is not registered.`);
    if (broker.epoch !== req.brokerEpoch) return refuse(ErrorCode.STALE_BROKER_EPOCH, 'Stale broker epoch.');
    const first = this.image.nextProducerId;
    if (first > MAX_PRODUCER_ID - PRODUCER_ID_BLOCK_SIZE) return refuse(ErrorCode.UNKNOWN_SERVER_ERROR, 'Producer ids are exhausted.');
    return {
      records: [{ type: 'producerIds', brokerId: req.brokerId, brokerEpoch: req.brokerEpoch, nextProducerId: first + PRODUCER_ID_BLOCK_SIZE }],
      result: { errorCode: ErrorCode.NONE, errorMessage: null, firstProducerId: first, size: PRODUCER_ID_BLOCK_SIZE },
    };
  }

  alterPartition(req: Omit<AlterPartitionRequest, 'op' | 'timeoutMs'>): Decision<AlterPartitionResult> {
    const fail = (errorCode: number, errorMessage: string, partition?: PartitionState): Decision<AlterPartitionResult> => ({
      records: [],
      result: { errorCode, errorMessage, ...(partition === undefined ? {} : { partition: copyPartition(partition) }) },
    });
    const topic = this.image.topicsById.get(req.topicId);
    if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_ID, 'Unknown topic id.');
    const p = topic.partitions[req.partition];
    if (p === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Unknown partition.');
    if (this.image.brokers.get(req.brokerId)?.epoch !== req.brokerEpoch) {
      return fail(ErrorCode.STALE_BROKER_EPOCH, 'Stale broker epoch.', p);
    }
    if (p.leader !== req.brokerId || req.leaderEpoch > p.leaderEpoch) {
      return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'The broker does not lead this partition.', p);
    }
    if (req.leaderEpoch < p.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH, 'Stale leader epoch.', p);
    if (req.partitionEpoch !== p.partitionEpoch) return fail(ErrorCode.INVALID_UPDATE_VERSION, 'Stale partition epoch.', p);
    const isr = [...new Set(req.isr)];
    if (!isr.includes(p.leader) || isr.some((id) => !p.replicas.includes(id))) {
      return fail(ErrorCode.INVALID_REQUEST, 'The ISR must hold the leader and only replicas of the partition.', p);
    }
    const ineligible = isr.find((id) => !p.isr.includes(id) && !this.image.isLive(id));
    if (ineligible !== undefined) return fail(ErrorCode.INELIGIBLE_REPLICA, `Broker ${ineligible} is fenced.`, p);
    if (sameMembers(isr, p.isr)) return { records: [], result: { errorCode: ErrorCode.NONE, errorMessage: null, partition: copyPartition(p) } };
    let change: PartitionChangeRecord = { type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: p.leader, isr };
    // The ISR that takes in the last replica a reassignment waits for also finishes it.
    const target = targetOf(p);
    if (target !== null) change = finished(this.image, change, target) ?? change;
    const after: PartitionState = { ...copyPartition(p), leader: change.leader, isr: change.isr, partitionEpoch: p.partitionEpoch + 1 };
    if (change.leader !== p.leader) after.leaderEpoch += 1;
    if (change.replicaSet) {
      after.replicas = [...change.replicaSet.replicas];
      delete after.reassignment;
    }
    return { records: [change], result: { errorCode: ErrorCode.NONE, errorMessage: null, partition: after } };
  }

  /**
   * SCRAM credential changes, checked as Kafka's controller checks them: a known mechanism, a
   * name, an iteration count in [4096, 16384], one change per user and mechanism, and a
   * credential to delete. A user with any bad change gets its error and none of its changes.
   */
  alterUserScramCredentials(req: Pick<AlterScramRequest, 'deletions' | 'upsertions'>): Decision<UserResult[]> {
    const errors = new Map<string, [number, string]>();
    const fail = (user: string, code: number, message: string): void => {
      if (!errors.has(user)) errors.set(user, [code, message]);
    };
    const seen = new Set<string>();
    const users: string[] = [];
    for (const change of [...req.deletions, ...req.upsertions]) {
      if (!users.includes(change.user)) users.push(change.user);
      const key = scramKey(change.mechanism, change.user);
      if (seen.has(key)) fail(change.user, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
      seen.add(key);
      if (change.user === '') fail(change.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      if (change.mechanism !== 1 && change.mechanism !== 2) fail(change.user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
    }
    for (const d of req.deletions) {
      if (!this.image.scram.has(scramKey(d.mechanism, d.user))) {
        fail(d.user, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
      }
    }
    for (const u of req.upsertions) {
      if (u.iterations < 4096) fail(u.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations');
      if (u.iterations > 16384) fail(u.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations');
      if (!/^([0-9a-f]{2})+$/.test(u.salt) || !/^([0-9a-f]{2})+$/.test(u.storedKey) || !/^([0-9a-f]{2})+$/.test(u.serverKey)) {
        fail(u.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Malformed credential');
      }
    }
    const records: MetadataRecord[] = [];
    for (const d of req.deletions) {
      if (!errors.has(d.user)) records.push({ type: 'removeUserScramCredential', name: d.user, mechanism: d.mechanism });
    }
    for (const u of req.upsertions) {
      if (errors.has(u.user)) continue;
      records.push({
        type: 'userScramCredential', name: u.user, mechanism: u.mechanism, salt: u.salt, storedKey: u.storedKey, serverKey: u.serverKey, iterations: u.iterations,
      });
    }
    const result = users.map((user) => {
      const e = errors.get(user);
      return { user, errorCode: e?.[0] ?? ErrorCode.NONE, errorMessage: e?.[1] ?? null };
    });
    return { records, result };
  }

  createAcls(req: Pick<CreateAclsRequest, 'creations'>): Decision<AclResult[]> {
    return decideCreateAcls(this.image, req.creations, () => this.random.id());
  }

  deleteAcls(req: Pick<DeleteAclsRequest, 'filters'>): Decision<AclResult[]> {
    return decideDeleteAcls(this.image, req.filters);
  }

  alterConfigs(req: Pick<AlterConfigsRequest, 'resources' | 'incremental' | 'validateOnly'>): Decision<ConfigResult[]> {
    return decideAlterConfigs(this.image, req);
  }

  electLeaders(req: Pick<ElectLeadersRequest, 'electionType' | 'partitions'>): Decision<ElectionResult[]> {
    return decideElectLeaders(this.image, req);
  }

  alterReassignments(req: Pick<AlterReassignmentsRequest, 'partitions'>): Decision<ReassignmentResult[]> {
    return decideAlterReassignments(this.image, req);
  }

  private fence(brokerId: number): MetadataRecord[] {
    const epoch = this.image.brokers.get(brokerId)!.epoch;
    return [{ type: 'fenceBroker', brokerId, brokerEpoch: epoch }, ...this.removeFromPartitions(brokerId)];
  }

  /**
   * Takes a departing broker out of every ISR (keeping it when it is the last member, so the
   * partition waits for it rather than losing data) and hands its leaderships to the first
   * live ISR member in replica order, or to nobody.
   */
  private removeFromPartitions(brokerId: number): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    for (const topic of this.image.topicsById.values()) {
      for (const p of topic.partitions) {
        if (p.leader !== brokerId && !p.isr.includes(brokerId)) continue;
        const others = p.isr.filter((id) => id !== brokerId);
        const isr = others.length > 0 ? others : p.isr;
        let leader = p.leader;
        if (leader === brokerId || leader === -1) {
          leader = p.replicas.find((id) => id !== brokerId && others.includes(id) && this.image.isLive(id)) ?? -1;
        }
        if (leader === p.leader && sameMembers(isr, p.isr)) continue;
        out.push({ type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader, isr });
      }
    }
    return out;
  }

  private unfence(brokerId: number): MetadataRecord[] {
    const epoch = this.image.brokers.get(brokerId)!.epoch;
    const out: MetadataRecord[] = [{ type: 'unfenceBroker', brokerId, brokerEpoch: epoch }];
    for (const topic of this.image.topicsById.values()) {
      for (const p of topic.partitions) {
        if (p.leader !== -1 || !p.isr.includes(brokerId)) continue;
        out.push({ type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: brokerId, isr: p.isr });
      }
    }
    return out;
  }
}

function topicError(name: string, errorCode: number, errorMessage: string): TopicResult {
  return { name, errorCode, errorMessage };
}

/** The whole operation refused: every topic of it gets the error, no record commits. */
function tooLarge(results: readonly TopicResult[]): Decision<TopicResult[]> {
  return { records: [], result: results.map((r) => topicError(r.name, ErrorCode.POLICY_VIOLATION, TOO_LARGE)) };
}

function countBy<T>(items: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function copyPartition(p: PartitionState): PartitionState {
  return { ...p, replicas: [...p.replicas], isr: [...p.isr] };
}
