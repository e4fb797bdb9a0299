/**
 * A follower's side of log replication (etcd raft's handleAppendEntries and handleSnapshot):
 * what it takes into its log from the leader's Append or InstallSnapshot, and what its
 * AppendResp says back. Both work on the log alone; the caller sends the answer.
 */
import type { RaftLog } from './raft-log.js';
import type { Message } from './types.js';

/** The fields of the AppendResp that answers the leader. */
export type AppendAnswer = Partial<Pick<Message, 'index' | 'reject' | 'rejectHint'>>;

/**
 * Merges the entries when the log holds the one before them; otherwise rejects with a hint of
 * where the logs may agree, so the leader skips a whole conflicting term at a time.
 */
export function acceptAppend(log: RaftLog, m: Message): AppendAnswer {
  if (m.index < log.committed) return { index: log.committed };
  if (log.matchTerm(m.index, m.logTerm)) {
    const lastNew = log.mergeFrom(m.index, m.entries);
    log.commitTo(Math.min(m.commit, lastNew));
    return { index: lastNew };
  }
  const hint = log.findConflictByTerm(m.index, m.logTerm);
  return { index: m.index, reject: true, rejectHint: hint };
}

/**
 * A snapshot past the commit index either matches the log (then it only commits) or replaces
 * it. The answer is the commit index; none when the message carried no snapshot.
 */
export function acceptSnapshot(log: RaftLog, m: Message): AppendAnswer | undefined {
  const s = m.snapshot;
  if (!s) return undefined;
  if (s.index > log.committed) {
    if (log.matchTerm(s.index, s.term)) log.commitTo(s.index);
    else log.restore(s);
  }
  return { index: log.committed };
}
