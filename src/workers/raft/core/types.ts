/**
 * The values that cross the Raft core's boundary: log entries, messages between
 * nodes, the hard state that must survive a crash, and the Ready bundle that tells
 * the caller what to persist, send and apply.
 */

export interface Entry {
  index: number;
  term: number;
  /** Empty for the no-op entry a new leader appends; the state machine never sees those. */
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it leaves. */
export interface HardState {
  term: number;
  /** 0 when this node has not voted in `term`. Node ids start at 1. */
  vote: number;
  /** A lower bound of the commit index; persisted as a hint, never needed for safety. */
  commit: number;
}

export interface Snapshot {
  index: number;
  term: number;
  data: Uint8Array;
}

export const MessageType = {
  PreVote: 1,
  PreVoteResp: 2,
  Vote: 3,
  VoteResp: 4,
  Append: 5,
  AppendResp: 6,
  Heartbeat: 7,
  HeartbeatResp: 8,
  InstallSnapshot: 9,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One shape for every message, as in etcd raft; fields a type does not use stay 0/empty.
 * - Vote/PreVote: `index`/`logTerm` describe the candidate's last entry.
 * - Append: `index`/`logTerm` are the entry before `entries`; `commit` the leader's commit.
 * - AppendResp: `index` is the follower's last matching index, or on `reject` the
 *   rejected `index` with `rejectHint` the follower's guess of where logs may agree.
 * - Heartbeat: `commit` is min(leader commit, follower match).
 * - InstallSnapshot: `snapshot` carries the state machine bytes at (index, term).
 */
export interface Message {
  type: MessageType;
  from: number;
  to: number;
  term: number;
  logTerm: number;
  index: number;
  commit: number;
  entries: Entry[];
  reject: boolean;
  rejectHint: number;
  snapshot: Snapshot | undefined;
}

export function message(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return {
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: undefined,
    ...fields,
  };
}

/**
 * The order to handle a Ready in (etcd raft's doc.go):
 * 1. `messages` may leave at once; they depend on nothing unsynced.
 * 2. Persist `snapshot` (then restore the state machine from it), `entries` (an entry
 *    whose index is already on disk replaces that entry and everything after it) and
 *    `hardState`, and fsync.
 * 3. Send `messagesAfterPersist` (those addressed to this node are stepped locally).
 * 4. Apply `committedEntries` in order.
 * 5. Call `advance()`.
 */
export interface Ready {
  messages: Message[];
  snapshot: Snapshot | undefined;
  entries: Entry[];
  hardState: HardState | undefined;
  messagesAfterPersist: Message[];
  committedEntries: Entry[];
}

export const Role = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type Role = (typeof Role)[keyof typeof Role];
