/**
 * Topics and their partitions as operators ask for them (Kafka's ReplicationControlManager for
 * CreateTopics, DeleteTopics and CreatePartitions): checks each topic of a request on its own,
 * places the replicas of new partitions on live brokers, and returns the records that carry
 * the request out. Pure: it reads the committed image and draws placements and topic ids from
 * the randomness it is given.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type {
  CreatableTopic,
  CreatePartitionsRequest,
  CreateTopicsRequest,
  DeleteTopicsRequest,
  TopicResult,
} from '../../../shared/metadata-types.js';
import { collisionKey, reservedTopicError, topicNameError } from '../../../shared/topic-name.js';
import type { ControllerRandom, ControllerSettings } from './controller-settings.js';
import type { MetadataImage, TopicState } from './image.js';
import { placeReplicas } from './placement.js';
import type { Decision, MetadataRecord, PartitionRecord } from './records.js';


/**
 * Records one CreateTopics or CreatePartitions may commit, Kafka's MAX_RECORDS_PER_USER_OP:
 * there is no cap on partitions per topic, but one operation becomes one metadata log entry,
 * and a larger one fails whole with POLICY_VIOLATION, as in Kafka.
 */
export const MAX_RECORDS_PER_USER_OP = 10_000;
const TOO_LARGE = 'Unable to perform excessively large batch operation.';

export class TopicControl {
  constructor(
    private readonly image: MetadataImage,
    private readonly settings: Pick<ControllerSettings, 'numPartitions' | 'defaultReplicationFactor' | 'maxBrokerPartitions'>,
    private readonly random: ControllerRandom,
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
