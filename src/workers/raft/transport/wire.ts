/**
 * What raft workers say to each other over the controller listener: one protobuf
 * `Envelope` per size-prefixed frame (`shared/frame-reader.ts`), schema
 * defined here in code.
 *
 *   Envelope { from: uint32, oneof { raft: RaftMessage, rpcRequest: Rpc, rpcResponse: Rpc } }
 *   RaftMessage mirrors core/types.ts `Message` field for field.
 *   Rpc { id: uint64, data: bytes, error: string, notLeader: bool, leaderId: uint32 }
 *
 * The Rpc pair carries the application's calls to the leader (`RaftDriver.callLeader`):
 * a response with `error` set failed on the leader; with `notLeader` set the callee was
 * not the leader and names the one it knows in `leaderId` (0: none).
 */
import protobuf from 'protobufjs';
import type { Entry, Message, MessageType } from '../core/types.js';

const root = protobuf.Root.fromJSON({
  nested: {
    Entry: { fields: { index: { type: 'uint64', id: 1 }, term: { type: 'uint64', id: 2 }, data: { type: 'bytes', id: 3 } } },
    Snapshot: { fields: { index: { type: 'uint64', id: 1 }, term: { type: 'uint64', id: 2 }, data: { type: 'bytes', id: 3 } } },
    RaftMessage: {
      fields: {
        type: { type: 'uint32', id: 1 },
        to: { type: 'uint32', id: 2 },
        term: { type: 'uint64', id: 3 },
        logTerm: { type: 'uint64', id: 4 },
        index: { type: 'uint64', id: 5 },
        commit: { type: 'uint64', id: 6 },
        entries: { rule: 'repeated', type: 'Entry', id: 7 },
        reject: { type: 'bool', id: 8 },
        rejectHint: { type: 'uint64', id: 9 },
        snapshot: { type: 'Snapshot', id: 10 },
      },
    },
    Rpc: {
      fields: { id: { type: 'uint64', id: 1 }, data: { type: 'bytes', id: 2 }, error: { type: 'string', id: 3 }, notLeader: { type: 'bool', id: 4 }, leaderId: { type: 'uint32', id: 5 } },
    },
    Envelope: {
      oneofs: { body: { oneof: ['raft', 'rpcRequest', 'rpcResponse'] } },
      fields: {
        from: { type: 'uint32', id: 1 },
        raft: { type: 'RaftMessage', id: 2 },
        rpcRequest: { type: 'Rpc', id: 3 },
        rpcResponse: { type: 'Rpc', id: 4 },
      },
    },
  },
});
const EnvelopeType = root.lookupType('Envelope');

export interface Rpc {
  id: number;
  data: Uint8Array;
  error: string;
  notLeader: boolean;
  leaderId: number;
}

export type Envelope =
  | { from: number; kind: 'raft'; raft: Message }
  | { from: number; kind: 'rpcRequest'; rpc: Rpc }
  | { from: number; kind: 'rpcResponse'; rpc: Rpc };

export function encodeEnvelope(env: Envelope): Uint8Array {
  if (env.kind === 'raft') {
    const { from: _from, ...raft } = env.raft;
    return EnvelopeType.encode({ from: env.from, raft }).finish();
  }
  return EnvelopeType.encode({ from: env.from, [env.kind]: env.rpc }).finish();
}

interface RawEntry {
  index: number;
  term: number;
  data: Uint8Array;
}

/** Throws on bytes that are not an Envelope; the caller drops the connection. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const o = EnvelopeType.toObject(EnvelopeType.decode(bytes), { longs: Number, defaults: true, oneofs: true }) as {
    from: number;
    body?: 'raft' | 'rpcRequest' | 'rpcResponse';
    raft?: Omit<Message, 'from' | 'entries' | 'snapshot'> & { entries: RawEntry[]; snapshot?: RawEntry };
    rpcRequest?: Rpc;
    rpcResponse?: Rpc;
  };
  switch (o.body) {
    case 'raft': {
      const r = o.raft!;
      const entries: Entry[] = r.entries.map((e) => ({ index: e.index, term: e.term, data: e.data }));
      return {
        from: o.from,
        kind: 'raft',
        raft: {
          type: r.type as MessageType,
          from: o.from,
          to: r.to,
          term: r.term,
          logTerm: r.logTerm,
          index: r.index,
          commit: r.commit,
          entries,
          reject: r.reject,
          rejectHint: r.rejectHint,
          snapshot: r.snapshot ? { index: r.snapshot.index, term: r.snapshot.term, data: r.snapshot.data } : undefined,
        },
      };
    }
    case 'rpcRequest':
      return { from: o.from, kind: 'rpcRequest', rpc: o.rpcRequest! };
    case 'rpcResponse':
      return { from: o.from, kind: 'rpcResponse', rpc: o.rpcResponse! };
    default:
      throw new Error('envelope without a body');
  }
}
