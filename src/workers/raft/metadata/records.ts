/**
 * Metadata records: what the metadata log holds, one Raft entry per controller decision.
 *
 * Wire format (protocol buffers, schema below, built with `Root.fromJSON`):
 *
 *   Raft entry data  = RecordBatch   { repeated MetadataRecord records = 1 }
 *   Snapshot bytes   = ImageSnapshot { double offset = 1; repeated MetadataRecord records = 2 }
 *   MetadataRecord   = oneof of the records listed in SCHEMA (field numbers are the wire
 *                      contract: never reuse or renumber one)
 *
 * All records of one controller decision travel in one entry, so they commit (and apply)
 * together or not at all, like Kafka's atomic record batches. An empty entry decodes to an
 * empty batch: Raft's own no-op entries need no special case.
 *
 * Field conventions:
 * - Topic ids and broker incarnation ids are 16 bytes on the wire, 32 lowercase hex chars here.
 * - Offsets and broker epochs are `double` (exact to 2^53) so no Long type leaks into the code.
 * - `RegisterBrokerRecord.brokerEpoch` is 0 when the controller proposes it: the broker's epoch
 *   is then the offset of the entry that carries it (only known at commit). Snapshots write
 *   the real epoch.
 * - `rack` is the empty string for "no rack"; `ConfigRecord.remove` marks a deleted key.
 * - `ControllerActivationRecord` changes no state: a new leader's controller commits it first,
 *   which proves every entry of earlier terms is applied before it decides anything.
 * - `ProducerIdsRecord` hands the producer ids [previous nextProducerId, nextProducerId) to
 *   the broker named in it (Kafka's AllocateProducerIds): ids are never given out twice, even
 *   across controller changes, because the next block starts where the committed one ended.
 * - A reassignment (Kafka's adding/removing replicas) lives in the partition's replica set:
 *   `replicas` holds the target replicas then those being removed, and `adding`/`removing`
 *   name the moving ones; empty lists (and `replicasChanged` false on a change) mean none.
 * - `PartitionChangeRecord.partitionEpoch` is the epoch the change was computed against; the
 *   image applies the change only when it still matches (compare-and-set, as Kafka's
 *   AlterPartition checks the partition epoch), then bumps it. The leader epoch is bumped
 *   when the leader changes.
 */
import protobuf from 'protobufjs';
import type { StoredAcl } from '../../../shared/acl.js';
import type { ListenerEndpoint } from '../../../shared/metadata-types.js';

const SCHEMA = {
  nested: {
    metadata: {
      nested: {
        ClusterIdRecord: { fields: { clusterId: { type: 'string', id: 1 } } },
        RegisterBrokerRecord: {
          fields: {
            brokerId: { type: 'int32', id: 1 },
            brokerEpoch: { type: 'double', id: 2 },
            incarnationId: { type: 'bytes', id: 3 },
            host: { type: 'string', id: 4 },
            port: { type: 'int32', id: 5 },
            rack: { type: 'string', id: 6 },
            fenced: { type: 'bool', id: 7 },
            listeners: { rule: 'repeated', type: 'BrokerListener', id: 8 },
          },
        },
        BrokerListener: {
          fields: { name: { type: 'string', id: 1 }, host: { type: 'string', id: 2 }, port: { type: 'int32', id: 3 } },
        },
        FenceBrokerRecord: {
          fields: { brokerId: { type: 'int32', id: 1 }, brokerEpoch: { type: 'double', id: 2 } },
        },
        UnfenceBrokerRecord: {
          fields: { brokerId: { type: 'int32', id: 1 }, brokerEpoch: { type: 'double', id: 2 } },
        },
        TopicRecord: {
          fields: { name: { type: 'string', id: 1 }, topicId: { type: 'bytes', id: 2 } },
        },
        PartitionRecord: {
          fields: {
            topicId: { type: 'bytes', id: 1 },
            partition: { type: 'int32', id: 2 },
            replicas: { rule: 'repeated', type: 'int32', id: 3 },
            isr: { rule: 'repeated', type: 'int32', id: 4 },
            leader: { type: 'int32', id: 5 },
            leaderEpoch: { type: 'int32', id: 6 },
            partitionEpoch: { type: 'int32', id: 7 },
            addingReplicas: { rule: 'repeated', type: 'int32', id: 8 },
            removingReplicas: { rule: 'repeated', type: 'int32', id: 9 },
          },
        },
        PartitionChangeRecord: {
          fields: {
            topicId: { type: 'bytes', id: 1 },
            partition: { type: 'int32', id: 2 },
            partitionEpoch: { type: 'int32', id: 3 },
            leader: { type: 'int32', id: 4 },
            isr: { rule: 'repeated', type: 'int32', id: 5 },
            replicasChanged: { type: 'bool', id: 6 },
            replicas: { rule: 'repeated', type: 'int32', id: 7 },
            addingReplicas: { rule: 'repeated', type: 'int32', id: 8 },
            removingReplicas: { rule: 'repeated', type: 'int32', id: 9 },
          },
        },
        ConfigRecord: {
          fields: {
            topicId: { type: 'bytes', id: 1 },
            name: { type: 'string', id: 2 },
            value: { type: 'string', id: 3 },
            remove: { type: 'bool', id: 4 },
          },
        },
        RemoveTopicRecord: { fields: { topicId: { type: 'bytes', id: 1 } } },
        ControllerActivationRecord: {
          fields: { controllerId: { type: 'int32', id: 1 }, term: { type: 'double', id: 2 } },
        },
        ProducerIdsRecord: {
          fields: {
            brokerId: { type: 'int32', id: 1 },
            brokerEpoch: { type: 'double', id: 2 },
            nextProducerId: { type: 'double', id: 3 },
          },
        },
        UserScramCredentialRecord: {
          fields: {
            name: { type: 'string', id: 1 },
            mechanism: { type: 'int32', id: 2 },
            salt: { type: 'bytes', id: 3 },
            storedKey: { type: 'bytes', id: 4 },
            serverKey: { type: 'bytes', id: 5 },
            iterations: { type: 'int32', id: 6 },
          },
        },
        RemoveUserScramCredentialRecord: {
          fields: { name: { type: 'string', id: 1 }, mechanism: { type: 'int32', id: 2 } },
        },
        AccessControlEntryRecord: {
          fields: {
            id: { type: 'bytes', id: 1 },
            resourceType: { type: 'int32', id: 2 },
            resourceName: { type: 'string', id: 3 },
            patternType: { type: 'int32', id: 4 },
            principal: { type: 'string', id: 5 },
            host: { type: 'string', id: 6 },
            operation: { type: 'int32', id: 7 },
            permissionType: { type: 'int32', id: 8 },
          },
        },
        RemoveAccessControlEntryRecord: { fields: { id: { type: 'bytes', id: 1 } } },
        BrokerConfigRecord: {
          fields: {
            broker: { type: 'string', id: 1 },
            name: { type: 'string', id: 2 },
            value: { type: 'string', id: 3 },
            remove: { type: 'bool', id: 4 },
          },
        },
        MetadataRecord: {
          oneofs: {
            record: {
              oneof: [
                'clusterId', 'registerBroker', 'fenceBroker', 'unfenceBroker', 'topic',
                'partition', 'partitionChange', 'config', 'removeTopic', 'controllerActivation',
                'producerIds', 'userScramCredential', 'removeUserScramCredential',
                'accessControlEntry', 'removeAccessControlEntry', 'brokerConfig',
              ],
            },
          },
          fields: {
            clusterId: { type: 'ClusterIdRecord', id: 1 },
            registerBroker: { type: 'RegisterBrokerRecord', id: 2 },
            fenceBroker: { type: 'FenceBrokerRecord', id: 3 },
            unfenceBroker: { type: 'UnfenceBrokerRecord', id: 4 },
            topic: { type: 'TopicRecord', id: 5 },
            partition: { type: 'PartitionRecord', id: 6 },
            partitionChange: { type: 'PartitionChangeRecord', id: 7 },
            config: { type: 'ConfigRecord', id: 8 },
            removeTopic: { type: 'RemoveTopicRecord', id: 9 },
            controllerActivation: { type: 'ControllerActivationRecord', id: 10 },
            producerIds: { type: 'ProducerIdsRecord', id: 11 },
            userScramCredential: { type: 'UserScramCredentialRecord', id: 12 },
            removeUserScramCredential: { type: 'RemoveUserScramCredentialRecord', id: 13 },
            accessControlEntry: { type: 'AccessControlEntryRecord', id: 14 },
            removeAccessControlEntry: { type: 'RemoveAccessControlEntryRecord', id: 15 },
            brokerConfig: { type: 'BrokerConfigRecord', id: 20 },
          },
        },
        RecordBatch: { fields: { records: { rule: 'repeated', type: 'MetadataRecord', id: 1 } } },
        ImageSnapshot: {
          fields: {
            offset: { type: 'double', id: 1 },
            records: { rule: 'repeated', type: 'MetadataRecord', id: 2 },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);
const RecordBatchType = root.lookupType('metadata.RecordBatch');
const ImageSnapshotType = root.lookupType('metadata.ImageSnapshot');

export interface ClusterIdRecord { type: 'clusterId'; clusterId: string }
export interface RegisterBrokerRecord {
  type: 'registerBroker'; brokerId: number; brokerEpoch: number; incarnationId: string;
  host: string; port: number; listeners: ListenerEndpoint[]; rack: string | null; fenced: boolean;
}
export interface FenceBrokerRecord { type: 'fenceBroker'; brokerId: number; brokerEpoch: number }
export interface UnfenceBrokerRecord { type: 'unfenceBroker'; brokerId: number; brokerEpoch: number }
export interface TopicRecord { type: 'topic'; name: string; topicId: string }
/** The replica set a reassignment moves through: target first, then the replicas being removed. */
export interface ReplicaSet { replicas: number[]; adding: number[]; removing: number[] }

export interface PartitionRecord {
  type: 'partition'; topicId: string; partition: number; replicas: number[]; isr: number[];
  leader: number; leaderEpoch: number; partitionEpoch: number;
  /** Only while a reassignment is under way. */
  reassignment?: { adding: number[]; removing: number[] };
}
export interface PartitionChangeRecord {
  type: 'partitionChange'; topicId: string; partition: number; partitionEpoch: number;
  leader: number; isr: number[];
  /** A new replica set (a reassignment starts, completes or is cancelled); absent: unchanged. */
  replicaSet?: ReplicaSet;
}
export interface ConfigRecord { type: 'config'; topicId: string; name: string; value: string | null }
export interface RemoveTopicRecord { type: 'removeTopic'; topicId: string }
export interface ControllerActivationRecord { type: 'controllerActivation'; controllerId: number; term: number }
export interface ProducerIdsRecord { type: 'producerIds'; brokerId: number; brokerEpoch: number; nextProducerId: number }

/** A user's salted SCRAM credential for one mechanism (1 SCRAM-SHA-256, 2 SCRAM-SHA-512); bytes as hex. */
export interface UserScramCredentialRecord {
  type: 'userScramCredential'; name: string; mechanism: number; salt: string; storedKey: string; serverKey: string; iterations: number;
}
export interface RemoveUserScramCredentialRecord { type: 'removeUserScramCredential'; name: string; mechanism: number }

/** An ACL (the codes of src/shared/acl.ts); `id` (16 bytes, hex here) is what its removal names. */
export interface AccessControlEntryRecord extends StoredAcl { type: 'accessControlEntry' }
export interface RemoveAccessControlEntryRecord { type: 'removeAccessControlEntry'; id: string }

/**
 * A dynamic broker setting: `broker` is a broker id, or '' for the cluster default (Kafka's
 * ConfigRecord for BROKER resources); a null value removes it.
 */
export interface BrokerConfigRecord { type: 'brokerConfig'; broker: string; name: string; value: string | null }

export type MetadataRecord =
  | ClusterIdRecord | RegisterBrokerRecord | FenceBrokerRecord | UnfenceBrokerRecord | TopicRecord
  | PartitionRecord | PartitionChangeRecord | ConfigRecord | RemoveTopicRecord | ControllerActivationRecord
  | ProducerIdsRecord | UserScramCredentialRecord | RemoveUserScramCredentialRecord
  | AccessControlEntryRecord | RemoveAccessControlEntryRecord | BrokerConfigRecord;

export function idToBytes(hex: string): Uint8Array {
  return Buffer.from(hex, 'hex');
}

export function bytesToId(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The protobuf message object for one record (field names as in SCHEMA). */
function toWire(r: MetadataRecord): Record<string, unknown> {
  switch (r.type) {
    case 'clusterId':
      return { clusterId: { clusterId: r.clusterId } };
    case 'registerBroker':
      return {
        registerBroker: {
          brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, incarnationId: idToBytes(r.incarnationId),
          host: r.host, port: r.port, rack: r.rack ?? '', fenced: r.fenced, listeners: r.listeners,
        },
      };
    case 'fenceBroker':
      return { fenceBroker: { brokerId: r.brokerId, brokerEpoch: r.brokerEpoch } };
    case 'unfenceBroker':
      return { unfenceBroker: { brokerId: r.brokerId, brokerEpoch: r.brokerEpoch } };
    case 'topic':
      return { topic: { name: r.name, topicId: idToBytes(r.topicId) } };
    case 'partition':
      return {
        partition: {
          topicId: idToBytes(r.topicId), partition: r.partition, replicas: r.replicas, isr: r.isr,
          leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch,
          addingReplicas: r.reassignment?.adding ?? [], removingReplicas: r.reassignment?.removing ?? [],
        },
      };
    case 'partitionChange':
      return {
        partitionChange: {
          topicId: idToBytes(r.topicId), partition: r.partition, partitionEpoch: r.partitionEpoch,
          leader: r.leader, isr: r.isr, replicasChanged: r.replicaSet !== undefined,
          replicas: r.replicaSet?.replicas ?? [], addingReplicas: r.replicaSet?.adding ?? [], removingReplicas: r.replicaSet?.removing ?? [],
        },
      };
    case 'config':
      return {
        config: { topicId: idToBytes(r.topicId), name: r.name, value: r.value ?? '', remove: r.value === null },
      };
    case 'removeTopic':
      return { removeTopic: { topicId: idToBytes(r.topicId) } };
    case 'controllerActivation':
      return { controllerActivation: { controllerId: r.controllerId, term: r.term } };
    case 'producerIds':
      return { producerIds: { brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, nextProducerId: r.nextProducerId } };
    case 'userScramCredential':
      return {
        userScramCredential: {
          name: r.name, mechanism: r.mechanism, salt: idToBytes(r.salt), storedKey: idToBytes(r.storedKey),
          serverKey: idToBytes(r.serverKey), iterations: r.iterations,
        },
      };
    case 'removeUserScramCredential':
      return { removeUserScramCredential: { name: r.name, mechanism: r.mechanism } };
    case 'accessControlEntry':
      return {
        accessControlEntry: {
          id: idToBytes(r.id), resourceType: r.resourceType, resourceName: r.resourceName, patternType: r.patternType,
          principal: r.principal, host: r.host, operation: r.operation, permissionType: r.permissionType,
        },
      };
    case 'removeAccessControlEntry':
      return { removeAccessControlEntry: { id: idToBytes(r.id) } };
    case 'brokerConfig':
      return { brokerConfig: { broker: r.broker, name: r.name, value: r.value ?? '', remove: r.value === null } };
  }
}

// The shape protobufjs' toObject gives with defaults, arrays and oneofs on.
type WireObject = Record<string, any>;

/** Returns null for a record kind this version does not know (a newer writer's record). */
function fromWire(m: WireObject): MetadataRecord | null {
  switch (m.record as string | undefined) {
    case 'clusterId':
      return { type: 'clusterId', clusterId: m.clusterId.clusterId };
    case 'registerBroker': {
      const b = m.registerBroker;
      return {
        type: 'registerBroker', brokerId: b.brokerId, brokerEpoch: b.brokerEpoch,
        incarnationId: bytesToId(b.incarnationId), host: b.host, port: b.port,
        listeners: ((b.listeners ?? []) as ListenerEndpoint[]).map((l) => ({ name: l.name, host: l.host, port: l.port })),
        rack: b.rack === '' ? null : b.rack, fenced: b.fenced,
      };
    }
    case 'fenceBroker':
      return { type: 'fenceBroker', brokerId: m.fenceBroker.brokerId, brokerEpoch: m.fenceBroker.brokerEpoch };
    case 'unfenceBroker':
      return { type: 'unfenceBroker', brokerId: m.unfenceBroker.brokerId, brokerEpoch: m.unfenceBroker.brokerEpoch };
    case 'topic':
      return { type: 'topic', name: m.topic.name, topicId: bytesToId(m.topic.topicId) };
    case 'partition': {
      const p = m.partition;
      const adding = p.addingReplicas as number[];
      const removing = p.removingReplicas as number[];
      return {
        type: 'partition', topicId: bytesToId(p.topicId), partition: p.partition, replicas: p.replicas,
        isr: p.isr, leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
        ...(adding.length > 0 || removing.length > 0 ? { reassignment: { adding, removing } } : {}),
      };
    }
    case 'partitionChange': {
      const c = m.partitionChange;
      return {
        type: 'partitionChange', topicId: bytesToId(c.topicId), partition: c.partition,
        partitionEpoch: c.partitionEpoch, leader: c.leader, isr: c.isr,
        ...(c.replicasChanged ? { replicaSet: { replicas: c.replicas, adding: c.addingReplicas, removing: c.removingReplicas } } : {}),
      };
    }
    case 'config': {
      const c = m.config;
      return { type: 'config', topicId: bytesToId(c.topicId), name: c.name, value: c.remove ? null : c.value };
    }
    case 'removeTopic':
      return { type: 'removeTopic', topicId: bytesToId(m.removeTopic.topicId) };
    case 'controllerActivation':
      return { type: 'controllerActivation', controllerId: m.controllerActivation.controllerId, term: m.controllerActivation.term };
    case 'producerIds': {
      const p = m.producerIds;
      return { type: 'producerIds', brokerId: p.brokerId, brokerEpoch: p.brokerEpoch, nextProducerId: p.nextProducerId };
    }
    case 'userScramCredential': {
      const c = m.userScramCredential;
      return {
        type: 'userScramCredential', name: c.name, mechanism: c.mechanism, salt: bytesToId(c.salt),
        storedKey: bytesToId(c.storedKey), serverKey: bytesToId(c.serverKey), iterations: c.iterations,
      };
    }
    case 'removeUserScramCredential':
      return { type: 'removeUserScramCredential', name: m.removeUserScramCredential.name, mechanism: m.removeUserScramCredential.mechanism };
    case 'accessControlEntry': {
      const a = m.accessControlEntry;
      return {
        type: 'accessControlEntry', id: bytesToId(a.id), resourceType: a.resourceType, resourceName: a.resourceName,
        patternType: a.patternType, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType,
      };
    }
    case 'removeAccessControlEntry':
      return { type: 'removeAccessControlEntry', id: bytesToId(m.removeAccessControlEntry.id) };
    case 'brokerConfig': {
      const c = m.brokerConfig;
      return { type: 'brokerConfig', broker: c.broker, name: c.name, value: c.remove ? null : c.value };
    }
    default:
      return null;
  }
}

const TO_OBJECT = { defaults: true, arrays: true, oneofs: true } as const;

function decodeRecords(list: WireObject[]): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const m of list) {
    const r = fromWire(m);
    if (r !== null) out.push(r);
  }
  return out;
}

export function encodeBatch(records: readonly MetadataRecord[]): Uint8Array {
  return RecordBatchType.encode(RecordBatchType.fromObject({ records: records.map(toWire) })).finish();
}

/** Throws on bytes that are not a RecordBatch (a corrupt entry is a bug, not input). */
export function decodeBatch(data: Uint8Array): MetadataRecord[] {
  const obj = RecordBatchType.toObject(RecordBatchType.decode(data), TO_OBJECT);
  return decodeRecords(obj.records as WireObject[]);
}

export function encodeImageSnapshot(offset: number, records: readonly MetadataRecord[]): Uint8Array {
  return ImageSnapshotType.encode(ImageSnapshotType.fromObject({ offset, records: records.map(toWire) })).finish();
}

export function decodeImageSnapshot(data: Uint8Array): { offset: number; records: MetadataRecord[] } {
  const obj = ImageSnapshotType.toObject(ImageSnapshotType.decode(data), TO_OBJECT);
  return { offset: obj.offset as number, records: decodeRecords(obj.records as WireObject[]) };
}

/** What a controller decision writes to the metadata log, and its answer to the request. */
export interface Decision<T> { records: MetadataRecord[]; result: T }
