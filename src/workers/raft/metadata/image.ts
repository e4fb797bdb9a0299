/**
 * The metadata image: cluster state rebuilt by applying committed metadata records in log
 * order. Pure: no I/O, no clock; every node that applies the same entries holds the same image.
 *
 * Records that no longer fit the state (a partition change computed against an old partition
 * epoch, a fence for a broker's previous incarnation, anything naming a deleted topic) are
 * skipped, so a stale proposal can never corrupt the image.
 *
 * The snapshot of an image is the list of records that rebuild it (see records.ts), plus the
 * offset it was taken at.
 */
import type { BrokerMetadata, ListenerEndpoint, MetadataSnapshot, PartitionMetadata, ScramCredentialInfo, TopicMetadata } from '../../../shared/metadata-types.js';
import type { StoredAcl } from '../../../shared/acl.js';
import { decodeImageSnapshot, encodeImageSnapshot, type MetadataRecord } from './records.js';

export interface BrokerState {
  id: number;
  /** Offset of the registration that created this incarnation. */
  epoch: number;
  incarnationId: string;
  host: string;
  port: number;
  listeners: ListenerEndpoint[];
  rack: string | null;
  fenced: boolean;
}

export type PartitionState = PartitionMetadata;

export interface TopicState {
  name: string;
  id: string;
  /** Indexed by partition number; partitions are always 0..n-1. */
  partitions: PartitionState[];
  configs: Map<string, string>;
}

export class MetadataImage {
  clusterId = '';
  /** Offset of the last applied entry (0: nothing applied). */
  offset = 0;
  /** The first producer id no broker has been given yet. */
  nextProducerId = 0;
  readonly brokers = new Map<number, BrokerState>();
  readonly topicsById = new Map<string, TopicState>();
  readonly topicsByName = new Map<string, TopicState>();
  /** SCRAM credentials by scramKey(mechanism, user). */
  readonly scram = new Map<string, ScramCredentialInfo>();
  /** ACLs by id. */
  readonly acls = new Map<string, StoredAcl>();
  /** Dynamic broker settings by broker id ('' for the cluster default), then by name. */
  readonly brokerConfigs = new Map<string, Map<string, string>>();

  /** Applies one committed entry's records; returns whether any of them changed the image. */
  apply(records: readonly MetadataRecord[], offset: number): boolean {
    let changed = false;
    for (const r of records) {
      if (this.applyOne(r, offset)) changed = true;
    }
    this.offset = offset;
    return changed;
  }

  private applyOne(r: MetadataRecord, offset: number): boolean {
    switch (r.type) {
      case 'clusterId':
        if (this.clusterId !== '') return false;
        this.clusterId = r.clusterId;
        return true;
      case 'registerBroker':
        this.brokers.set(r.brokerId, {
          id: r.brokerId, epoch: r.brokerEpoch > 0 ? r.brokerEpoch : offset, incarnationId: r.incarnationId,
          host: r.host, port: r.port, listeners: r.listeners, rack: r.rack, fenced: r.fenced,
        });
        return true;
      case 'fenceBroker':
      case 'unfenceBroker': {
        const b = this.brokers.get(r.brokerId);
        const fenced = r.type === 'fenceBroker';
        if (b === undefined || b.epoch !== r.brokerEpoch || b.fenced === fenced) return false;
        b.fenced = fenced;
        return true;
      }
      case 'topic': {
        if (this.topicsByName.has(r.name) || this.topicsById.has(r.topicId)) return false;
        const t: TopicState = { name: r.name, id: r.topicId, partitions: [], configs: new Map() };
        this.topicsById.set(r.topicId, t);
        this.topicsByName.set(r.name, t);
        return true;
      }
      case 'partition': {
        const t = this.topicsById.get(r.topicId);
        if (t === undefined || r.partition !== t.partitions.length) return false;
        t.partitions.push({
          partition: r.partition, leader: r.leader, leaderEpoch: r.leaderEpoch,
          replicas: [...r.replicas], isr: [...r.isr], partitionEpoch: r.partitionEpoch,
          ...(r.reassignment ? { reassignment: { adding: [...r.reassignment.adding], removing: [...r.reassignment.removing] } } : {}),
        });
        return true;
      }
      case 'partitionChange': {
        const p = this.topicsById.get(r.topicId)?.partitions[r.partition];
        if (p === undefined || p.partitionEpoch !== r.partitionEpoch) return false;
        if (p.leader !== r.leader) p.leaderEpoch += 1;
        p.leader = r.leader;
        p.isr = [...r.isr];
        p.partitionEpoch += 1;
        if (r.replicaSet) {
          p.replicas = [...r.replicaSet.replicas];
          if (r.replicaSet.adding.length > 0 || r.replicaSet.removing.length > 0) {
            p.reassignment = { adding: [...r.replicaSet.adding], removing: [...r.replicaSet.removing] };
          } else {
            delete p.reassignment;
          }
        }
        return true;
      }
      case 'config': {
        const t = this.topicsById.get(r.topicId);
        if (t === undefined) return false;
        if (r.value === null) return t.configs.delete(r.name);
        t.configs.set(r.name, r.value);
        return true;
      }
      case 'removeTopic': {
        const t = this.topicsById.get(r.topicId);
        if (t === undefined) return false;
        this.topicsById.delete(t.id);
        this.topicsByName.delete(t.name);
        return true;
      }
      case 'controllerActivation':
        return false;
      case 'producerIds':
        if (r.nextProducerId <= this.nextProducerId) return false;
        this.nextProducerId = r.nextProducerId;
        return true;
      case 'userScramCredential':
        this.scram.set(scramKey(r.mechanism, r.name), {
          user: r.name, mechanism: r.mechanism, salt: r.salt, storedKey: r.storedKey, serverKey: r.serverKey, iterations: r.iterations,
        });
        return true;
      case 'removeUserScramCredential':
        return this.scram.delete(scramKey(r.mechanism, r.name));
      case 'accessControlEntry': {
        const { type: _type, ...acl } = r;
        this.acls.set(r.id, acl);
        return true;
      }
      case 'removeAccessControlEntry':
        return this.acls.delete(r.id);
      case 'brokerConfig': {
        let configs = this.brokerConfigs.get(r.broker);
        if (r.value === null) {
          const removed = configs?.delete(r.name) ?? false;
          if (configs?.size === 0) this.brokerConfigs.delete(r.broker);
          return removed;
        }
        if (configs === undefined) this.brokerConfigs.set(r.broker, (configs = new Map()));
        configs.set(r.name, r.value);
        return true;
      }
    }
  }

  /** Brokers that may lead and host replicas now. */
  liveBrokerIds(): number[] {
    const ids: number[] = [];
    for (const b of this.brokers.values()) if (!b.fenced) ids.push(b.id);
    return ids.sort((a, b) => a - b);
  }

  isLive(brokerId: number): boolean {
    const b = this.brokers.get(brokerId);
    return b !== undefined && !b.fenced;
  }

  /** Records that rebuild this image from an empty one. */
  toRecords(): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    if (this.clusterId !== '') out.push({ type: 'clusterId', clusterId: this.clusterId });
    for (const b of this.brokers.values()) {
      out.push({
        type: 'registerBroker', brokerId: b.id, brokerEpoch: b.epoch, incarnationId: b.incarnationId,
        host: b.host, port: b.port, listeners: b.listeners, rack: b.rack, fenced: b.fenced,
      });
    }
    for (const t of this.topicsById.values()) {
      out.push({ type: 'topic', name: t.name, topicId: t.id });
      for (const p of t.partitions) {
        out.push({
          type: 'partition', topicId: t.id, partition: p.partition, replicas: p.replicas, isr: p.isr,
          leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
          ...(p.reassignment ? { reassignment: p.reassignment } : {}),
        });
      }
      for (const [name, value] of t.configs) out.push({ type: 'config', topicId: t.id, name, value });
    }
    for (const c of this.scram.values()) {
      out.push({ type: 'userScramCredential', name: c.user, mechanism: c.mechanism, salt: c.salt, storedKey: c.storedKey, serverKey: c.serverKey, iterations: c.iterations });
    }
    for (const a of this.acls.values()) out.push({ type: 'accessControlEntry', ...a });
    for (const [broker, configs] of this.brokerConfigs) {
      for (const [name, value] of configs) out.push({ type: 'brokerConfig', broker, name, value });
    }
    if (this.nextProducerId > 0) out.push({ type: 'producerIds', brokerId: -1, brokerEpoch: -1, nextProducerId: this.nextProducerId });
    return out;
  }

  encodeSnapshot(): Uint8Array {
    return encodeImageSnapshot(this.offset, this.toRecords());
  }

  static fromSnapshot(data: Uint8Array): MetadataImage {
    const image = new MetadataImage();
    image.restore(data);
    return image;
  }

  /** Replaces the whole state with a snapshot's, in place (readers keep their reference). */
  restore(data: Uint8Array): void {
    const { offset, records } = decodeImageSnapshot(data);
    this.clusterId = '';
    this.nextProducerId = 0;
    this.brokers.clear();
    this.topicsById.clear();
    this.topicsByName.clear();
    this.scram.clear();
    this.acls.clear();
    this.brokerConfigs.clear();
    this.apply(records, offset);
  }

  /** The published form, a plain object that survives structured clone. */
  toMetadataSnapshot(controllerId: number): MetadataSnapshot {
    const brokers: BrokerMetadata[] = [...this.brokers.values()]
      .map((b) => ({ id: b.id, host: b.host, port: b.port, listeners: b.listeners, rack: b.rack, fenced: b.fenced }))
      .sort((a, b) => a.id - b.id);
    const topics: TopicMetadata[] = [...this.topicsById.values()]
      .map((t) => ({
        name: t.name,
        id: t.id,
        configs: Object.fromEntries(t.configs),
        partitions: t.partitions.map((p) => ({
          ...p, replicas: [...p.replicas], isr: [...p.isr],
          ...(p.reassignment ? { reassignment: { adding: [...p.reassignment.adding], removing: [...p.reassignment.removing] } } : {}),
        })),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const scram = [...this.scram.values()].map((c) => ({ ...c }));
    const acls = [...this.acls.values()].map((a) => ({ ...a }));
    const brokerConfigs: Record<string, Record<string, string>> = {};
    for (const [broker, configs] of this.brokerConfigs) brokerConfigs[broker] = Object.fromEntries(configs);
    return { clusterId: this.clusterId, controllerId, offset: this.offset, brokers, topics, scram, acls, brokerConfigs };
  }
}

export function scramKey(mechanism: number, user: string): string {
  return `${mechanism}:${user}`;
}
