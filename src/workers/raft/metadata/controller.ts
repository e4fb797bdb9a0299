/**
 * The controller: turns requests into the metadata records that carry them out. Pure: it
 * reads the committed image, takes the clock and randomness as arguments, and returns
 * records; the caller proposes them and answers once they commit.
 *
 * Only the node leading the metadata quorum runs a Controller, and it runs one request at a
 * time against an image that holds every earlier request's records: each decision is made
 * against committed state only, so two decisions never conflict.
 *
 * Each kind of request is decided by a module of its own, as Kafka's QuorumController hands
 * them to its control managers:
 *
 *   topic-control.ts      CreateTopics, DeleteTopics, CreatePartitions
 *   broker-lifecycle.ts   registrations, heartbeats, fencing (the controller's own state)
 *   alter-partition.ts    ISR changes from partition leaders
 *   elections.ts          ElectLeaders, and the preferred leaders of auto.leader.rebalance.enable
 *   reassignments.ts      AlterPartitionReassignments
 *   producer-ids.ts       AllocateProducerIds
 *   scram-credentials.ts  AlterUserScramCredentials
 *   acls.ts, configs.ts   CreateAcls, DeleteAcls; AlterConfigs, IncrementalAlterConfigs
 */
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
  CreatePartitionsRequest,
  CreateTopicsRequest,
  DeleteTopicsRequest,
  ProducerIdBlock,
  TopicResult,
  UserResult,
} from '../../../shared/metadata-types.js';
import type { MetadataImage } from './image.js';
import { decideCreateAcls, decideDeleteAcls } from './acls.js';
import { decideAlterPartition } from './alter-partition.js';
import { BrokerLifecycle, type BrokerHeartbeat, type BrokerRegistration, type HeartbeatReply } from './broker-lifecycle.js';
import type { ControllerRandom, ControllerSettings } from './controller-settings.js';
import { decideAlterConfigs } from './configs.js';
import { decideElectLeaders, preferredLeaderChanges } from './elections.js';
import { decideAllocateProducerIds } from './producer-ids.js';
import { decideAlterReassignments } from './reassignments.js';
import type { Decision, MetadataRecord } from './records.js';
import { decideAlterScramCredentials } from './scram-credentials.js';
import { TopicControl } from './topic-control.js';

export type { ControllerRandom, ControllerSettings } from './controller-settings.js';
export type { BrokerHeartbeat, BrokerRegistration, HeartbeatReply } from './broker-lifecycle.js';

export class Controller {
  private readonly topics: TopicControl;
  private readonly brokers: BrokerLifecycle;

  constructor(
    private readonly image: MetadataImage,
    private readonly settings: ControllerSettings,
    private readonly random: ControllerRandom,
    activatedAtMs: number,
  ) {
    this.topics = new TopicControl(image, settings, random);
    this.brokers = new BrokerLifecycle(image, settings, activatedAtMs);
  }

  createTopics(req: Pick<CreateTopicsRequest, 'topics' | 'validateOnly'>): Decision<TopicResult[]> {
    return this.topics.createTopics(req);
  }

  deleteTopics(req: Pick<DeleteTopicsRequest, 'topics'>): Decision<TopicResult[]> {
    return this.topics.deleteTopics(req);
  }

  createPartitions(req: Pick<CreatePartitionsRequest, 'topics' | 'validateOnly'>): Decision<TopicResult[]> {
    return this.topics.createPartitions(req);
  }

  registerBroker(req: BrokerRegistration, nowMs: number): Decision<{ errorCode: number }> {
    return this.brokers.registerBroker(req, nowMs);
  }

  heartbeat(req: BrokerHeartbeat, nowMs: number): Decision<HeartbeatReply> {
    return this.brokers.heartbeat(req, nowMs);
  }

  /** The connection to a broker closed at `atMs` (broker-lifecycle.ts). */
  brokerDisconnected(brokerId: number, atMs: number): void {
    this.brokers.brokerDisconnected(brokerId, atMs);
  }

  /** When `tick` must next run to fence a disconnected broker on time, or undefined when none is. */
  nextFastFenceMs(): number | undefined {
    return this.brokers.nextFastFenceMs();
  }

  /**
   * Fences at most one broker that is due (the next tick takes the next one); when none is,
   * moves leaderships back to their preferred replicas if auto.leader.rebalance.enable is set.
   */
  tick(nowMs: number): MetadataRecord[] {
    const fencing = this.brokers.fenceDue(nowMs);
    if (fencing.length > 0) return fencing;
    return this.settings.autoLeaderRebalance ? preferredLeaderChanges(this.image) : [];
  }

  allocateProducerIds(req: { brokerId: number; brokerEpoch: number }): Decision<ProducerIdBlock> {
    return decideAllocateProducerIds(this.image, req);
  }

  alterPartition(req: Omit<AlterPartitionRequest, 'op' | 'timeoutMs'>): Decision<AlterPartitionResult> {
    return decideAlterPartition(this.image, req);
  }

  alterUserScramCredentials(req: Pick<AlterScramRequest, 'deletions' | 'upsertions'>): Decision<UserResult[]> {
    return decideAlterScramCredentials(this.image, req);
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
}
