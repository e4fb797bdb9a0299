/**
 * Runs the Raft core for one broker: recovers it from disk, feeds it timer ticks and
 * messages from the TCP transport, and carries out each Ready in the documented order
 * (send what may go at once; persist snapshot, entries and hard state and fsync; send what
 * depended on that; apply committed entries; advance). Readies are handled on the next
 * event-loop turn, so proposals and messages arriving together share one fsync.
 *
 * Time: one core tick per `heartbeatIntervalMs`; the election timeout becomes
 * electionTimeoutMs / heartbeatIntervalMs ticks (randomized by the core up to twice that).
 * The state machine is snapshotted once `snapshotEveryEntries` entries were applied since
 * the last snapshot, and the log is compacted behind it.
 *
 * A closed connection with the leader ends its lease here at once (the transport reports it;
 * a process that dies closes its sockets), and the followers campaign one after the other,
 * in the order of their ids `2 * heartbeatIntervalMs` apart, so that the first is usually
 * elected alone instead of all splitting the vote: a dead leader is replaced in a few round
 * trips, not an election timeout.
 *
 * Time is measured here, never in the core: with `stats`, each proposal's append-to-commit
 * latency, each campaign's time until a leader is known, and the leader, term, commit index
 * and log end after every round of the loop (src/shared/metrics/raft-stats.ts).
 *
 * Proposals resolve once their entry is committed and applied here. A leader that loses
 * its leadership rejects its pending proposals with NotLeaderError: they may still commit
 * under the next leader, so callers must treat that outcome as unknown.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/logger.js';
import type { RaftStats } from '../../shared/metrics/raft-stats.js';
import { seededRandom } from './core/prng.js';
import { Raft } from './core/raft.js';
import { type Message, Role } from './core/types.js';
import { RaftStorage } from './storage/raft-storage.js';
import { TcpTransport, type QuorumTls } from './transport/tcp-transport.js';
import type { Envelope, Rpc } from './transport/wire.js';

export interface StateMachine {
  /** Committed entries, in order, only those with non-empty data. */
  apply(entries: { index: number; term: number; data: Uint8Array }[]): void;
  /** The whole state as bytes. */
  takeSnapshot(): Uint8Array;
  restoreSnapshot(data: Uint8Array): void;
}

export interface RaftDriverOptions {
  nodeId: number;
  voters: { id: number; host: string; port: number }[];
  /** This node's controller listener. */
  listen: { host: string; port: number };
  dataDir: string;
  stateMachine: StateMachine;
  logger: Logger;
  /** controller.quorum.election.timeout.ms; default 1000. */
  electionTimeoutMs?: number;
  /** Default 100. */
  heartbeatIntervalMs?: number;
  /** Default 10000. */
  snapshotEveryEntries?: number;
  /** Mutual TLS between the voters (an SSL controller listener). */
  tls?: QuorumTls;
  /** Application RPC over the same connections: a node calls the current leader's handler. */
  onLeaderRpc?: (fromNodeId: number, data: Uint8Array) => Promise<Uint8Array>;
  /** A connection with a peer closed (`up` false) or the one to it opened (`up` true). */
  onPeerConnection?: (peerId: number, up: boolean) => void;
  /** Where commit and election latencies and the quorum's state are recorded, for the metrics endpoint. */
  stats?: RaftStats;
}

export class NotLeaderError extends Error {
  constructor(readonly leaderId: number | undefined) {
    super(leaderId === undefined ? 'not the leader; no leader known' : `not the leader; node ${leaderId} is`);
    this.name = 'NotLeaderError';
  }
}

interface PendingProposal {
  term: number;
  /** When it was appended (performance.now()). */
  at: number;
  resolve: (r: { index: number }) => void;
  reject: (err: Error) => void;
}

/** Pause before retrying a call to the leader that could not be sent. */
const CALL_RETRY_MS = 50;

export class RaftDriver {
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly calls = new Map<number, (rpc: Rpc | undefined) => void>();
  private readonly leaderListeners: ((leaderId: number | undefined, term: number) => void)[] = [];
  private readonly leaderWaiters = new Set<() => void>();
  private nextCallId = 1;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private processing = false;
  private stopped = false;
  private notified = { leaderId: undefined as number | undefined, term: -1 };
  /** When this node started campaigning without a leader known since (performance.now()). */
  private campaigningSince: number | undefined;
  private transport!: TcpTransport;

  private constructor(
    private readonly opts: RaftDriverOptions,
    private readonly raft: Raft,
    private readonly storage: RaftStorage,
    private readonly snapshotEvery: number,
  ) {}

  /** Recovers from disk, binds the listener, and starts ticking. */
  static async start(opts: RaftDriverOptions): Promise<RaftDriver> {
    const heartbeatMs = opts.heartbeatIntervalMs ?? 100;
    const electionTicks = Math.max(2, Math.round((opts.electionTimeoutMs ?? 1000) / heartbeatMs));
    const { storage, state } = RaftStorage.open(opts.dataDir, opts.logger);
    if (state.snapshot) opts.stateMachine.restoreSnapshot(state.snapshot.data);
    const raft = new Raft({
      id: opts.nodeId,
      voters: opts.voters.map((v) => v.id),
      electionTicks,
      heartbeatTicks: 1,
      random: seededRandom(randomInt(2 ** 31)),
      hardState: state.hardState,
      snapshot: state.snapshot,
      entries: state.entries,
    });
    opts.logger.info(
      { term: state.hardState.term, snapshotIndex: state.snapshot?.index ?? 0, lastIndex: raft.log.lastIndex() },
      'raft log recovered',
    );
    const driver = new RaftDriver(opts, raft, storage, opts.snapshotEveryEntries ?? 10_000);
    driver.transport = new TcpTransport({
      nodeId: opts.nodeId,
      peers: opts.voters,
      listen: opts.listen,
      logger: opts.logger,
      ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
      onEnvelope: (env) => driver.onEnvelope(env),
      onPeerDown: (id) => {
        driver.onPeerDown(id, heartbeatMs);
        opts.onPeerConnection?.(id, false);
      },
      onPeerUp: (id) => opts.onPeerConnection?.(id, true),
    });
    try {
      await driver.transport.start();
    } catch (err) {
      storage.close();
      throw err;
    }
    driver.timer = setInterval(() => {
      raft.tick();
      driver.process();
    }, heartbeatMs);
    if (opts.voters.length === 1) raft.campaign();
    driver.process();
    return driver;
  }

  get leaderId(): number | undefined {
    return this.raft.lead || undefined;
  }

  get term(): number {
    return this.raft.term;
  }

  isLeader(): boolean {
    return this.raft.role === Role.Leader;
  }

  /** Since when a peer is unreachable (a connection with it closed, or never opened), or undefined. */
  peerDownSince(peerId: number): number | undefined {
    return this.transport.downSince(peerId);
  }

  onLeaderChange(cb: (leaderId: number | undefined, term: number) => void): void {
    this.leaderListeners.push(cb);
  }

  /** Resolves after the entry is committed and applied locally; rejects NotLeaderError. */
  propose(data: Uint8Array): Promise<{ index: number }> {
    if (this.stopped) return Promise.reject(new Error('raft driver stopped'));
    const res = this.raft.propose(data);
    if (!res.ok) return Promise.reject(new NotLeaderError(res.leaderId));
    return new Promise((resolve, reject) => {
      this.proposals.set(res.index, { term: res.term, at: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Calls the leader's onLeaderRpc (this node's own when it leads); rejects when no leader answers in time. */
  async callLeader(data: Uint8Array, timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopped) throw new Error('raft driver stopped');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no leader answered within ${timeoutMs} ms`);
      const leader = this.leaderId;
      if (leader === undefined) {
        await this.waitForLeaderChange(remaining);
        continue;
      }
      if (leader === this.opts.nodeId) {
        const handler = this.opts.onLeaderRpc;
        if (!handler) throw new Error('this node has no leader RPC handler');
        return handler(this.opts.nodeId, data);
      }
      const id = this.nextCallId++;
      const sent = this.transport.send(leader, {
        from: this.opts.nodeId,
        kind: 'rpcRequest',
        rpc: { id, data, error: '', notLeader: false, leaderId: 0 },
      });
      if (!sent) {
        await this.waitForLeaderChange(Math.min(CALL_RETRY_MS, remaining));
        continue;
      }
      const reply = await this.awaitReply(id, remaining);
      if (!reply) continue;
      if (reply.notLeader) {
        await this.waitForLeaderChange(Math.min(CALL_RETRY_MS, deadline - Date.now()));
        continue;
      }
      if (reply.error) throw new Error(reply.error);
      return reply.data;
    }
  }

  /** Closes sockets, fsyncs and closes files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.transport.stop();
    this.storage.close();
    this.failAll(new Error('raft driver stopped'));
  }

  // ---- the Ready loop ----

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.process();
    });
  }

  private process(): void {
    if (this.processing || this.stopped) return;
    this.processing = true;
    try {
      while (this.raft.hasReady()) this.handleReady();
    } catch (err) {
      // A failed write or fsync leaves the disk in an unknown state: stop taking part.
      this.opts.logger.fatal({ err }, 'raft storage failed; this node leaves the quorum');
      this.stopped = true;
      clearInterval(this.timer);
      void this.transport.stop();
      this.failAll(err as Error);
      return;
    } finally {
      this.processing = false;
    }
    this.afterProcess();
  }

  private handleReady(): void {
    const rd = this.raft.ready();
    for (const m of rd.messages) this.sendMessage(m);
    if (rd.snapshot) {
      this.storage.installSnapshot(rd.snapshot);
      this.opts.stateMachine.restoreSnapshot(rd.snapshot.data);
    }
    this.storage.append(rd.entries);
    this.storage.sync();
    if (rd.hardState) this.storage.saveHardState(rd.hardState);
    const local: Message[] = [];
    for (const m of rd.messagesAfterPersist) {
      if (m.to === this.opts.nodeId) local.push(m);
      else this.sendMessage(m);
    }
    // Known committed now; applying them is not part of the commit latency.
    const committedAt = this.proposals.size > 0 ? performance.now() : 0;
    const toApply = rd.committedEntries.filter((e) => e.data.length > 0);
    if (toApply.length > 0) this.opts.stateMachine.apply(toApply);
    for (const e of rd.committedEntries) {
      const p = this.proposals.get(e.index);
      if (!p) continue;
      this.proposals.delete(e.index);
      if (p.term === e.term) {
        this.opts.stats?.committed(committedAt - p.at, Date.now());
        p.resolve({ index: e.index });
      } else {
        p.reject(new NotLeaderError(this.leaderId));
      }
    }
    this.raft.advance();
    for (const m of local) this.raft.step(m);
    this.maybeSnapshot();
  }

  private maybeSnapshot(): void {
    const log = this.raft.log;
    if (log.applied - log.snapshotIndex < this.snapshotEvery) return;
    const snap = { index: log.applied, term: log.term(log.applied)!, data: this.opts.stateMachine.takeSnapshot() };
    this.storage.saveSnapshot(snap);
    this.raft.compact(snap);
    this.opts.logger.info({ index: snap.index, bytes: snap.data.length }, 'raft snapshot taken');
  }

  private afterProcess(): void {
    const leaderId = this.leaderId;
    const term = this.raft.term;
    if (this.opts.stats) this.recordState(leaderId, term);
    if (this.proposals.size > 0 && !this.isLeader()) {
      const err = new NotLeaderError(leaderId);
      for (const p of this.proposals.values()) p.reject(err);
      this.proposals.clear();
    }
    if (leaderId === this.notified.leaderId && term === this.notified.term) return;
    this.notified = { leaderId, term };
    for (const w of [...this.leaderWaiters]) w();
    for (const cb of this.leaderListeners) {
      try {
        cb(leaderId, term);
      } catch (err) {
        this.opts.logger.error({ err }, 'leader change listener failed');
      }
    }
  }

  private recordState(leaderId: number | undefined, term: number): void {
    const stats = this.opts.stats!;
    const role = this.raft.role;
    if (role === Role.PreCandidate || role === Role.Candidate) {
      this.campaigningSince ??= performance.now();
    } else if (leaderId !== undefined && this.campaigningSince !== undefined) {
      stats.elected(performance.now() - this.campaigningSince, Date.now());
      this.campaigningSince = undefined;
    }
    stats.setState(leaderId ?? -1, term, this.raft.log.committed, this.raft.log.lastIndex());
  }

  // ---- network ----

  private onPeerDown(peerId: number, heartbeatMs: number): void {
    if (this.stopped || peerId !== this.raft.lead || this.isLeader()) return;
    this.raft.leaderLost();
    const rank = this.opts.voters.map((v) => v.id).filter((id) => id !== peerId).sort((a, b) => a - b).indexOf(this.opts.nodeId);
    setTimeout(() => {
      if (this.stopped || this.raft.lead !== 0 || this.isLeader()) return;
      this.raft.campaign();
      this.process();
    }, Math.max(0, rank) * 2 * heartbeatMs).unref();
    this.process();
  }

  private sendMessage(m: Message): void {
    this.transport.send(m.to, { from: this.opts.nodeId, kind: 'raft', raft: m });
  }

  private onEnvelope(env: Envelope): void {
    if (this.stopped) return;
    switch (env.kind) {
      case 'raft':
        if (env.raft.to !== this.opts.nodeId) return;
        this.raft.step(env.raft);
        this.schedule();
        break;
      case 'rpcRequest':
        void this.serveRpc(env.from, env.rpc);
        break;
      case 'rpcResponse':
        this.calls.get(env.rpc.id)?.(env.rpc);
        break;
    }
  }

  private async serveRpc(from: number, req: Rpc): Promise<void> {
    const reply: Rpc = { id: req.id, data: new Uint8Array(0), error: '', notLeader: false, leaderId: 0 };
    const handler = this.opts.onLeaderRpc;
    if (!this.isLeader()) {
      reply.notLeader = true;
      reply.leaderId = this.raft.lead;
    } else if (!handler) {
      reply.error = 'the leader has no RPC handler';
    } else {
      try {
        reply.data = await handler(from, req.data);
      } catch (err) {
        reply.error = (err as Error).message || String(err);
      }
    }
    if (!this.stopped) this.transport.send(from, { from: this.opts.nodeId, kind: 'rpcResponse', rpc: reply });
  }

  /** The reply to call `id`, or undefined when the leader changed or time ran out first. */
  private awaitReply(id: number, timeoutMs: number): Promise<Rpc | undefined> {
    return new Promise((resolve) => {
      const done = (rpc: Rpc | undefined): void => {
        clearTimeout(timer);
        this.calls.delete(id);
        this.leaderWaiters.delete(onLeader);
        resolve(rpc);
      };
      const onLeader = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.calls.set(id, done);
      this.leaderWaiters.add(onLeader);
    });
  }

  private waitForLeaderChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.leaderWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.leaderWaiters.add(done);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.proposals.values()) p.reject(err);
    this.proposals.clear();
    for (const c of [...this.calls.values()]) c(undefined);
    for (const w of [...this.leaderWaiters]) w();
  }
}
