/**
 * Committed offsets as the classic machine keeps them for every group (classic or consumer):
 * the records a commit or an OffsetDelete writes, what a written one changes, and what an
 * OffsetFetch reads (Kafka's OffsetMetadataManager). Pure helpers on the groups' offsets.
 */
import { writeError } from '../coordinator-write-error.js';
import { ErrorCode } from '../errors.js';
import type { CommitResult, FetchedOffset, OffsetDeleteResult, OffsetInput, Reply } from './group-io.js';
import { newGroup, offsetKey, type CommittedOffset, type Group } from './group.js';
import { encodeOffsetKey, encodeOffsetValue, type GroupRecord } from './records.js';

/** The writes of offsets, and what to do once each is durable. */
export type OffsetWrite =
  | { kind: 'commit'; to: number; groupId: string; offsets: CommittedOffset[]; errorCodes: number[] }
  | { kind: 'offset-delete'; to: number; groupId: string; keys: string[]; errorCodes: number[] }
  /** Expired offsets' tombstones (and the group's, `dropGroup`, when nothing of it is left). */
  | { kind: 'expire'; groupId: string; offsets: CommittedOffset[]; dropGroup: boolean };

/** One offset record per committed offset whose metadata fits; an error code for each asked. */
export function commitRecords(groupId: string, asked: OffsetInput[], now: number, maxMetadataBytes: number): { errorCodes: number[]; offsets: CommittedOffset[]; records: GroupRecord[] } {
  const errorCodes: number[] = [];
  const offsets: CommittedOffset[] = [];
  const records: GroupRecord[] = [];
  for (const o of asked) {
    const metadata = o.metadata ?? '';
    if (Buffer.byteLength(metadata) > maxMetadataBytes) {
      errorCodes.push(ErrorCode.OFFSET_METADATA_TOO_LARGE);
      continue;
    }
    errorCodes.push(ErrorCode.NONE);
    const committed = { topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata, commitTimestamp: now };
    offsets.push(committed);
    records.push({ key: encodeOffsetKey(groupId, o.topic, o.partition), value: encodeOffsetValue(committed) });
  }
  return { errorCodes, offsets, records };
}

/** OffsetDelete's tombstones: none for a topic still `subscribed`, each offset once. */
export function offsetDeletion(
  group: Group | undefined,
  groupId: string,
  partitions: { topic: string; partition: number }[],
  subscribed: ((topic: string) => boolean) | null,
): { codes: number[]; records: GroupRecord[]; gone: string[] } {
  const codes: number[] = [];
  const records: GroupRecord[] = [];
  const gone: string[] = [];
  for (const p of partitions) {
    if (subscribed?.(p.topic)) {
      codes.push(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
      continue;
    }
    codes.push(ErrorCode.NONE);
    const k = offsetKey(p.topic, p.partition);
    if (group?.offsets.has(k) && !gone.includes(k)) {
      gone.push(k);
      records.push({ key: encodeOffsetKey(groupId, p.topic, p.partition), value: null });
    }
  }
  return { codes, records, gone };
}

/** Applies an offsets write's outcome to `groups`; the reply it owes, if any. */
export function offsetsWritten(groups: Map<string, Group>, w: OffsetWrite, errorCode: number, now: number): Reply | null {
  switch (w.kind) {
    case 'commit': {
      if (errorCode === ErrorCode.NONE) {
        const group = groups.get(w.groupId) ?? newGroup(w.groupId, now);
        groups.set(w.groupId, group);
        for (const o of w.offsets) group.offsets.set(offsetKey(o.topic, o.partition), o);
      }
      const failed = writeError(errorCode, true);
      const result: CommitResult = { errorCodes: w.errorCodes.map((c) => (c === ErrorCode.NONE ? failed : c)) };
      return { to: w.to, result };
    }
    case 'offset-delete': {
      const group = groups.get(w.groupId);
      if (errorCode === ErrorCode.NONE) for (const k of w.keys) group?.offsets.delete(k);
      const result: OffsetDeleteResult = errorCode === ErrorCode.NONE ? { errorCode, partitionErrors: w.errorCodes } : { errorCode: writeError(errorCode, false), partitionErrors: [] };
      return { to: w.to, result };
    }
    case 'expire': {
      const group = groups.get(w.groupId);
      if (errorCode !== ErrorCode.NONE || !group) return null;
      // An offset committed again meanwhile is a new one: it stays.
      for (const o of w.offsets) if (group.offsets.get(offsetKey(o.topic, o.partition)) === o) group.offsets.delete(offsetKey(o.topic, o.partition));
      if (w.dropGroup && group.offsets.size === 0 && group.state === 'Empty' && group.members.size === 0 && group.pending.size === 0) groups.delete(w.groupId);
      return null;
    }
  }
}

/** Committed offsets of `topics` (all of the group's when null); -1 where none is committed. */
export function committedOffsets(group: Group | undefined, topics: { name: string; partitions: number[] }[] | null): FetchedOffset[] {
  const found = (o: CommittedOffset): FetchedOffset => ({ ...o, errorCode: ErrorCode.NONE });
  if (topics === null) return group ? [...group.offsets.values()].map(found) : [];
  return topics.flatMap((t) =>
    t.partitions.map((p) => {
      const o = group?.offsets.get(offsetKey(t.name, p));
      return o ? found(o) : { topic: t.name, partition: p, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
    }),
  );
}
