/**
 * The consumer's embedded protocol of classic groups (protocol type `consumer`): what a member
 * puts in its JoinGroup metadata and what it is handed in SyncGroup. The coordinator reads and
 * writes them only when a group moves between the classic and the consumer protocol, or when
 * it assigns a classic member of a consumer group itself. Pure. Non-flexible, big-endian:
 *
 *   ConsumerProtocolSubscription  version int16 | topics [string] | userData nullable bytes
 *                                 | v1+: ownedPartitions [topic string | partitions [int32]]
 *                                 | v2+: generationId int32 | v3+: rackId nullable string
 *   ConsumerProtocolAssignment    version int16 | assigned [topic string | partitions [int32]]
 *                                 | userData nullable bytes
 *
 * Fields a version should have but the bytes end before are read as absent: some clients
 * (kafkajs) announce version 1 and write the version 0 layout.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

export interface Subscription {
  version: number;
  topics: string[];
  ownedPartitions: { topic: string; partitions: number[] }[];
  rackId: string | null;
}

/** Throws (ProtocolDecodeError) when not even the topics read. */
export function decodeSubscription(b: Buffer): Subscription {
  const r = new Reader(b);
  const version = r.int16();
  const topics: string[] = [];
  for (let i = r.arrayLength(); i > 0; i--) topics.push(r.string());
  const sub: Subscription = { version, topics, ownedPartitions: [], rackId: null };
  if (r.remaining === 0) return sub;
  r.nullableBytes();
  if (version < 1 || r.remaining === 0) return sub;
  sub.ownedPartitions = readTopicPartitions(r);
  if (version < 2 || r.remaining === 0) return sub;
  r.int32();
  if (version >= 3 && r.remaining > 0) sub.rackId = r.nullableString();
  return sub;
}

/** The partitions of an assignment, by topic name (an empty assignment reads as none). */
export function decodeAssignment(b: Buffer): { topic: string; partitions: number[] }[] {
  if (b.length === 0) return [];
  const r = new Reader(b);
  r.int16();
  return readTopicPartitions(r);
}

export function encodeAssignment(version: number, assigned: { topic: string; partitions: number[] }[]): Buffer {
  const w = new Writer(64);
  w.int16(version);
  w.arrayLength(assigned.length);
  for (const t of assigned) {
    w.string(t.topic);
    w.arrayLength(t.partitions.length);
    for (const p of t.partitions) w.int32(p);
  }
  w.nullableBytes(null);
  return w.toBuffer();
}

/** The version a member's protocol metadata announces (its first int16), 0 when too short. */
export function protocolVersion(metadata: Buffer): number {
  return metadata.length >= 2 ? Math.max(0, metadata.readInt16BE(0)) : 0;
}

function readTopicPartitions(r: Reader): { topic: string; partitions: number[] }[] {
  const out: { topic: string; partitions: number[] }[] = [];
  for (let i = r.arrayLength(); i > 0; i--) {
    const topic = r.string();
    const partitions: number[] = [];
    for (let j = r.arrayLength(); j > 0; j--) partitions.push(r.int32());
    out.push({ topic, partitions });
  }
  return out;
}
