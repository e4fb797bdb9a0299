/**
 * The records of `__consumer_offsets`, in Kafka's own key/value formats (the group
 * coordinator's `OffsetCommitKey/Value` and `GroupMetadataKey/Value` schemas), so the topic's
 * contents read the same as a Kafka broker's. Pure: bytes in, objects out.
 *
 * All integers big-endian. string = int16 length + UTF-8; nullable string: length -1 = null;
 * bytes = int32 length + bytes. A record's key starts with an int16 version that says which
 * key it is; its value starts with an int16 version of the value layout. A null value
 * (tombstone) deletes what the key names.
 *
 *   OffsetCommitKey     version int16 (0 or 1) | group string | topic string | partition int32
 *   OffsetCommitValue   version int16, then by version:
 *                       v0: offset int64 | metadata string | timestamp int64
 *                       v1: offset int64 | metadata string | commitTimestamp int64 | expireTimestamp int64
 *                       v2: offset int64 | metadata string | commitTimestamp int64
 *                       v3: offset int64 | leaderEpoch int32 | metadata string | commitTimestamp int64
 *   GroupMetadataKey    version int16 (2) | group string
 *   GroupMetadataValue  version int16, then:
 *                       protocolType string | generation int32 | protocol nullable string
 *                       | leader nullable string | currentStateTimestamp int64 (v2+)
 *                       | members int32 count, each:
 *                         memberId string | groupInstanceId nullable string (v3+) | clientId string
 *                         | clientHost string | rebalanceTimeout int32 (v1+) | sessionTimeout int32
 *                         | subscription bytes | assignment bytes
 *
 * Written: OffsetCommitKey v1, OffsetCommitValue v3, GroupMetadataKey v2, GroupMetadataValue v3.
 * Read: every version above. The flexible value versions Kafka 3.x+ may write (OffsetCommitValue
 * v4, GroupMetadataValue v4) are refused as unknown: this topic is only ever written here.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

export interface OffsetKey {
  type: 'offset';
  group: string;
  topic: string;
  partition: number;
}

export interface GroupKey {
  type: 'group';
  group: string;
}

export type RecordKey = OffsetKey | GroupKey;

export interface OffsetValue {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupValue {
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  stateTimestamp: number;
  members: StoredMember[];
}

/** One record to append: key bytes and value bytes (null for a tombstone). */
export interface GroupRecord {
  key: Buffer;
  value: Buffer | null;
}

export function encodeOffsetKey(group: string, topic: string, partition: number): Buffer {
  const w = new Writer(64);
  w.int16(1);
  w.string(group);
  w.string(topic);
  w.int32(partition);
  return w.toBuffer();
}

export function encodeGroupKey(group: string): Buffer {
  const w = new Writer(32);
  w.int16(2);
  w.string(group);
  return w.toBuffer();
}

export function encodeOffsetValue(v: OffsetValue): Buffer {
  const w = new Writer(64);
  w.int16(3);
  w.int64(v.offset);
  w.int32(v.leaderEpoch);
  w.string(v.metadata);
  w.int64(v.commitTimestamp);
  return w.toBuffer();
}

export function encodeGroupValue(v: GroupValue): Buffer {
  const w = new Writer(256);
  w.int16(3);
  w.string(v.protocolType);
  w.int32(v.generationId);
  w.nullableString(v.protocolName);
  w.nullableString(v.leaderId);
  w.int64(v.stateTimestamp);
  w.int32(v.members.length);
  for (const m of v.members) {
    w.string(m.memberId);
    w.nullableString(m.groupInstanceId);
    w.string(m.clientId);
    w.string(m.clientHost);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return w.toBuffer();
}

/** Decodes a key; throws ProtocolDecodeError on malformed bytes, Error on an unknown version. */
export function decodeKey(b: Buffer): RecordKey {
  const r = new Reader(b);
  const version = r.int16();
  if (version === 0 || version === 1) return { type: 'offset', group: r.string(), topic: r.string(), partition: r.int32() };
  if (version === 2) return { type: 'group', group: r.string() };
  throw new Error(`unknown __consumer_offsets key version ${version}`);
}

export function decodeOffsetValue(b: Buffer): OffsetValue {
  const r = new Reader(b);
  const version = r.int16();
  if (version < 0 || version > 3) throw new Error(`unknown offset commit value version ${version}`);
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = r.string();
  const commitTimestamp = r.int64();
  return { offset, leaderEpoch, metadata, commitTimestamp };
}

export function decodeGroupValue(b: Buffer): GroupValue {
  const r = new Reader(b);
  const version = r.int16();
  if (version < 0 || version > 3) throw new Error(`unknown group metadata value version ${version}`);
  const protocolType = r.string();
  const generationId = r.int32();
  const protocolName = r.nullableString();
  const leaderId = r.nullableString();
  const stateTimestamp = version >= 2 ? r.int64() : -1;
  const count = r.arrayLength();
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() : null;
    const clientId = r.string();
    const clientHost = r.string();
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : -1;
    const sessionTimeoutMs = r.int32();
    const subscription = Buffer.from(r.bytes());
    const assignment = Buffer.from(r.bytes());
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  return { protocolType, generationId, protocolName, leaderId, stateTimestamp, members };
}
