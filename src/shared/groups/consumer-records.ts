/**
 * The records a consumer group (the consumer protocol, KIP-848) keeps in `__consumer_offsets`,
 * in Kafka's own formats (its group coordinator's ConsumerGroup*Key/Value schemas), so the
 * topic reads the same as on a Kafka broker and a group survives a coordinator move. Pure.
 *
 * A key is an int16 record type then fixed-layout (non-flexible) strings; a value is an int16
 * version (0 here) then a flexible struct: compact strings and arrays, uuid = 16 bytes,
 * closed by tagged fields (only the classic member metadata is written; any other read is
 * skipped). A null value deletes the key.
 *
 *   type 3  ConsumerGroupMetadata                 key: group        value: epoch int32
 *   type 5  ConsumerGroupMemberMetadata           key: group, member
 *           value: instanceId ?string | rackId ?string | clientId string | clientHost string
 *                  | subscribedTopicNames []string | subscribedTopicRegex ?string
 *                  | rebalanceTimeoutMs int32 | serverAssignor ?string
 *                  | tag 0: classicMemberMetadata (a member on the classic protocol) {
 *                      sessionTimeoutMs int32 | supportedProtocols [] { name string | metadata bytes } }
 *   type 6  ConsumerGroupTargetAssignmentMetadata key: group        value: assignmentEpoch int32
 *   type 7  ConsumerGroupTargetAssignmentMember   key: group, member
 *           value: topicPartitions [] { topicId uuid | partitions []int32 }
 *   type 8  ConsumerGroupCurrentMemberAssignment  key: group, member
 *           value: memberEpoch int32 | previousMemberEpoch int32 | state int8
 *                  | assignedPartitions [] { topicId uuid | partitions []int32 }
 *                  | partitionsPendingRevocation [] (same)
 *
 * Type 4 (ConsumerGroupPartitionMetadata, the subscribed topics' metadata) is read and ignored:
 * the coordinator recomputes what it needs from the cluster's metadata.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import type { GroupRecord } from './records.js';

export const CONSUMER_RECORD_TYPES = new Set([3, 4, 5, 6, 7, 8]);

/** topic id (Kafka's uuid string) -> partitions, ascending. */
export type Assignment = Map<string, number[]>;

/** Kafka's MemberState byte values. */
export const MemberStateCode = { STABLE: 0, UNREVOKED_PARTITIONS: 1, UNRELEASED_PARTITIONS: 2 } as const;

export interface MemberMetadataValue {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  /** Set for a member that joined with JoinGroup (the classic protocol). */
  classic: ClassicMemberMetadata | null;
}

export interface ClassicMemberMetadata {
  sessionTimeoutMs: number;
  /** The member's JoinGroup protocols, in its order of preference. */
  protocols: { name: string; metadata: Buffer }[];
}

export interface CurrentAssignmentValue {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assigned: Assignment;
  pendingRevocation: Assignment;
}

export type ConsumerRecordKey =
  | { type: 3 | 4 | 6; group: string }
  | { type: 5 | 7 | 8; group: string; member: string };

function key(type: number, group: string, member?: string): Buffer {
  const w = new Writer(64);
  w.int16(type);
  w.string(group);
  if (member !== undefined) w.string(member);
  return w.toBuffer();
}

/** A value: version 0, the body, then tag 0 when `tag0` is given. */
function value(body: (w: Writer) => void, tag0: Buffer | null = null): Buffer {
  const w = new Writer(128);
  w.int16(0);
  body(w);
  if (tag0 === null) w.emptyTaggedFields();
  else {
    w.unsignedVarint(1);
    w.taggedField(0, tag0);
  }
  return w.toBuffer();
}

function writeAssignment(w: Writer, a: Assignment): void {
  w.compactArrayLength(a.size);
  for (const [topicId, partitions] of a) {
    w.uuid(topicId);
    w.compactArrayLength(partitions.length);
    for (const p of partitions) w.int32(p);
    w.emptyTaggedFields();
  }
}

export function groupEpochRecord(group: string, epoch: number | null): GroupRecord {
  return { key: key(3, group), value: epoch === null ? null : value((w) => w.int32(epoch)) };
}

export function memberMetadataRecord(group: string, member: string, v: MemberMetadataValue | null): GroupRecord {
  return {
    key: key(5, group, member),
    value:
      v === null
        ? null
        : value((w) => {
            w.compactNullableString(v.instanceId);
            w.compactNullableString(v.rackId);
            w.compactString(v.clientId);
            w.compactString(v.clientHost);
            w.compactArrayLength(v.subscribedTopicNames.length);
            for (const t of v.subscribedTopicNames) w.compactString(t);
            w.compactNullableString(v.subscribedTopicRegex);
            w.int32(v.rebalanceTimeoutMs);
            w.compactNullableString(v.serverAssignor);
          }, v.classic === null ? null : classicField(v.classic)),
  };
}

function classicField(c: ClassicMemberMetadata): Buffer {
  const w = new Writer(64);
  w.int32(c.sessionTimeoutMs);
  w.compactArrayLength(c.protocols.length);
  for (const p of c.protocols) {
    w.compactString(p.name);
    w.compactBytes(p.metadata);
    w.emptyTaggedFields();
  }
  w.emptyTaggedFields();
  return w.toBuffer();
}

function readClassicField(r: Reader): ClassicMemberMetadata {
  const sessionTimeoutMs = r.int32();
  const protocols: ClassicMemberMetadata['protocols'] = [];
  for (let i = r.compactArrayLength(); i > 0; i--) {
    const name = r.compactString();
    protocols.push({ name, metadata: Buffer.from(r.compactBytes()) });
    skipTaggedFields(r);
  }
  skipTaggedFields(r);
  return { sessionTimeoutMs, protocols };
}

export function targetEpochRecord(group: string, assignmentEpoch: number | null): GroupRecord {
  return { key: key(6, group), value: assignmentEpoch === null ? null : value((w) => w.int32(assignmentEpoch)) };
}

export function targetMemberRecord(group: string, member: string, a: Assignment | null): GroupRecord {
  return { key: key(7, group, member), value: a === null ? null : value((w) => writeAssignment(w, a)) };
}

export function currentAssignmentRecord(group: string, member: string, v: CurrentAssignmentValue | null): GroupRecord {
  return {
    key: key(8, group, member),
    value:
      v === null
        ? null
        : value((w) => {
            w.int32(v.memberEpoch);
            w.int32(v.previousMemberEpoch);
            w.int8(v.state);
            writeAssignment(w, v.assigned);
            writeAssignment(w, v.pendingRevocation);
          }),
  };
}

/** The record type of any `__consumer_offsets` key (its leading int16). */
export function recordType(k: Buffer): number {
  return k.length >= 2 ? k.readInt16BE(0) : -1;
}

export function decodeConsumerKey(b: Buffer): ConsumerRecordKey {
  const r = new Reader(b);
  const type = r.int16();
  const group = r.string();
  if (type === 3 || type === 4 || type === 6) return { type, group };
  if (type === 5 || type === 7 || type === 8) return { type, group, member: r.string() };
  throw new Error(`not a consumer group record type: ${type}`);
}

function valueReader(b: Buffer): Reader {
  const r = new Reader(b);
  const version = r.int16();
  if (version !== 0) throw new Error(`unknown consumer group record value version ${version}`);
  return r;
}

function skipTaggedFields(r: Reader): void {
  const n = r.taggedFieldCount();
  for (let i = 0; i < n; i++) {
    r.unsignedVarint();
    r.endTaggedField(r.taggedFieldEnd());
  }
}

function readAssignment(r: Reader): Assignment {
  const out: Assignment = new Map();
  const n = r.compactArrayLength();
  for (let i = 0; i < n; i++) {
    const topicId = r.uuid();
    const count = r.compactArrayLength();
    const partitions: number[] = [];
    for (let j = 0; j < count; j++) partitions.push(r.int32());
    skipTaggedFields(r);
    out.set(topicId, partitions);
  }
  return out;
}

/** ConsumerGroupMetadataValue and ConsumerGroupTargetAssignmentMetadataValue: one int32. */
export function decodeEpochValue(b: Buffer): number {
  return valueReader(b).int32();
}

export function decodeMemberMetadataValue(b: Buffer): MemberMetadataValue {
  const r = valueReader(b);
  const instanceId = r.compactNullableString();
  const rackId = r.compactNullableString();
  const clientId = r.compactString();
  const clientHost = r.compactString();
  const n = r.compactArrayLength();
  const subscribedTopicNames: string[] = [];
  for (let i = 0; i < n; i++) subscribedTopicNames.push(r.compactString());
  const subscribedTopicRegex = r.compactNullableString();
  const rebalanceTimeoutMs = r.int32();
  const serverAssignor = r.compactNullableString();
  let classic: ClassicMemberMetadata | null = null;
  for (let n = r.taggedFieldCount(); n > 0; n--) {
    const tag = r.unsignedVarint();
    const end = r.taggedFieldEnd();
    if (tag === 0) classic = readClassicField(r);
    r.endTaggedField(end);
  }
  return { instanceId, rackId, clientId, clientHost, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor, classic };
}

export function decodeTargetMemberValue(b: Buffer): Assignment {
  const r = valueReader(b);
  const a = readAssignment(r);
  skipTaggedFields(r);
  return a;
}

export function decodeCurrentAssignmentValue(b: Buffer): CurrentAssignmentValue {
  const r = valueReader(b);
  const memberEpoch = r.int32();
  const previousMemberEpoch = r.int32();
  const state = r.int8();
  const assigned = readAssignment(r);
  const pendingRevocation = readAssignment(r);
  skipTaggedFields(r);
  return { memberEpoch, previousMemberEpoch, state, assigned, pendingRevocation };
}
