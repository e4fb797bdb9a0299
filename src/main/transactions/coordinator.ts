/**
 * The transaction coordinator's shell: the I/O around the pure TxnStateMachine, as the group
 * coordinator is around its machine. This broker coordinates the transactional ids of every
 * `__transaction_state` partition it leads; for each it loads the partition's records
 * (answering COORDINATOR_LOAD_IN_PROGRESS meanwhile), feeds the machine the requests, appends
 * the records it asks for (replying only once they are durable on the in-sync replicas),
 * writes the markers it asks for (retrying until every partition took them, then telling the
 * machine), and keeps one timer per partition at the machine's next deadline. A partition
 * whose leadership moves away is dropped: its waiting requests get NOT_COORDINATOR, and the
 * new leader loads the same records and finishes the transactions caught between prepare
 * and complete.
 *
 * The topic is created on the first FindCoordinator for a transactional id, with
 * `transaction.state.log.num.partitions` partitions and a replication factor of
 * min(`transaction.state.log.replication.factor`, live brokers). A transactional id lives in
 * partition abs(hashCode) % partitions, as on a Kafka broker.
 */
import { ErrorCode } from '../../shared/errors.js';
import { partitionForGroup } from '../../shared/groups/coordinator-partition.js';
import { childLogger, type Logger } from '../../shared/logger.js';
import { decodeTxnKey, decodeTxnValue, TxnState, type TopicPartitions } from '../../shared/transactions/records.js';
import { EPOCH_BUMP_VERSION } from '../../shared/transactions/txn-metadata.js';
import {
  TxnStateMachine,
  type DescribedTxn,
  type EndResult,
  type Effects,
  type InitResult,
  type Markers,
  type TxnInput,
} from '../../shared/transactions/txn-state-machine.js';
import { CoordinatorPartitions, type Coordinates, type CoordinatorDeps } from '../coordinator-partitions.js';
import { appendGroupRecords } from '../groups/offsets-log.js';
import type { MarkerWriter } from './markers.js';

export const TXN_TOPIC = '__transaction_state';

/** How long to wait before writing markers again after a partition refused them. */
const MARKER_RETRY_MS = 200;

export interface TxnCoordinatorDeps extends CoordinatorDeps {
  markers: MarkerWriter;
}

interface Slot {
  partition: number;
  leaderEpoch: number;
  machine: TxnStateMachine;
  loaded: boolean;
}

type Routed = { slot: Slot } | { errorCode: number };

export class TxnCoordinator {
  private readonly partitions: CoordinatorPartitions<Slot>;
  private readonly waiting = new Map<number, (result: InitResult | EndResult) => void>();
  /** transactional id → those waiting for its transaction to finish ending (`settled`). */
  private readonly settling = new Map<string, Set<() => void>>();
  private nextReply = 1;
  private readonly log: Logger = childLogger({ thread: 'main', component: 'transactions' });

  constructor(private readonly deps: TxnCoordinatorDeps) {
    const config = deps.config;
    this.partitions = new CoordinatorPartitions<Slot>(deps, this.log, {
      topic: TXN_TOPIC,
      name: 'transaction coordinator',
      topicSize: () => ({ partitions: config.txnTopicPartitions, replicationFactor: config.txnTopicReplicationFactor }),
      noTopicError: ErrorCode.NOT_COORDINATOR,
      newSlot: (partition, leaderEpoch) => ({
        partition,
        leaderEpoch,
        loaded: false,
        machine: new TxnStateMachine({ maxTimeoutMs: config.txnMaxTimeoutMs, idExpirationMs: config.txnIdExpirationMs }),
      }),
      replay: (slot, r) => {
        if (r.key !== null) slot.machine.replay(decodeTxnKey(r.key), r.value === null ? null : decodeTxnValue(r.value));
      },
      loaded: (slot, now) => this.apply(slot, slot.machine.loaded(now)),
      unloaded: (slot) => this.apply(slot, slot.machine.abandon(ErrorCode.NOT_COORDINATOR)),
    });
  }

  start(): void {
    this.partitions.start();
  }

  stop(): void {
    this.partitions.stop();
  }

  // ---- requests ----------------------------------------------------------------------------

  findCoordinator(transactionalId: string): Promise<Coordinates> {
    if (!transactionalId) return Promise.resolve({ errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1, host: '', port: -1 });
    return this.partitions.locate(transactionalId);
  }

  async initProducerId(transactionalId: string, timeoutMs: number, producerId: number, producerEpoch: number): Promise<InitResult> {
    const failed = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    let r = this.route(transactionalId);
    if ('errorCode' in r) return failed(r.errorCode);
    let fresh = -1;
    if (r.slot.machine.needsProducerId(transactionalId)) {
      const id = await this.deps.raft.producerId();
      if (id.errorCode !== ErrorCode.NONE) return failed(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      fresh = id.producerId;
      r = this.route(transactionalId);
      if ('errorCode' in r) return failed(r.errorCode);
    }
    const res = await this.call(r.slot, (m, now, to) => m.initProducerId(now, to, { transactionalId, timeoutMs, producerId, producerEpoch, freshProducerId: fresh })) as InitResult;
    this.noteFenced('InitProducerId', { transactionalId, producerId, producerEpoch }, res.errorCode);
    return res;
  }

  /** `clientVersion` 2: the implicit add of a v2 transaction's partition (Produce v12+, TxnOffsetCommit v5+). */
  async addPartitions(i: TxnInput, partitions: TopicPartitions[], clientVersion = 0): Promise<number> {
    const r = this.route(i.transactionalId);
    if ('errorCode' in r) return r.errorCode;
    const res = await this.call(r.slot, (m, now, to) => m.addPartitions(now, to, i, partitions, clientVersion));
    this.noteFenced(clientVersion >= EPOCH_BUMP_VERSION ? 'AddPartitionsToTxn (implicit, transactions v2)' : 'AddPartitionsToTxn', i, res.errorCode);
    return res.errorCode;
  }

  /** AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction. */
  addOffsets(i: TxnInput, groupId: string): Promise<number> {
    const offsets = this.deps.metadata.topic('__consumer_offsets');
    const n = offsets?.partitions.length || this.deps.config.offsetsTopicPartitions;
    return this.addPartitions(i, [{ topic: '__consumer_offsets', partitions: [partitionForGroup(groupId, n)] }]);
  }

  /** The broker coordinating the transactional id, by this broker's metadata; -1 when none is. */
  coordinatorOf(transactionalId: string): number {
    const topic = this.deps.metadata.topic(TXN_TOPIC);
    if (!topic || topic.partitions.length === 0) return -1;
    return topic.partitions[partitionForGroup(transactionalId, topic.partitions.length)]!.leader;
  }

  /** AddPartitionsToTxn v4+ verify-only: NONE when the partitions are in the producer's ongoing transaction. */
  verify(i: TxnInput, partitions: TopicPartitions[]): number {
    const r = this.route(i.transactionalId);
    if ('errorCode' in r) return r.errorCode;
    const t = r.slot.machine.get(i.transactionalId);
    if (!t || t.producerId !== i.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (t.producerEpoch !== i.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    const inTxn = t.state === TxnState.Ongoing && partitions.every((tp) => tp.partitions.every((p) => t.partitions.get(tp.topic)?.has(p)));
    return inTxn ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
  }

  /** EndTxn; `clientVersion` 2 for EndTxn v5+, whose end bumps the epoch (the answer names the new one). */
  /**
   * Resolves once the id's last transaction is no longer ending here (its markers written and
   * its completion recorded), or after `timeoutMs`: a v2 producer's next transaction may start
   * before that.
   */
  settled(transactionalId: string, timeoutMs: number): Promise<void> {
    if (!this.ending(transactionalId)) return Promise.resolve();
    return new Promise((resolve) => {
      let waiters = this.settling.get(transactionalId);
      if (!waiters) this.settling.set(transactionalId, (waiters = new Set()));
      const w = waiters;
      const done = (): void => {
        clearTimeout(timer);
        w.delete(done);
        if (w.size === 0 && this.settling.get(transactionalId) === w) this.settling.delete(transactionalId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      w.add(done);
    });
  }

  private ending(transactionalId: string): boolean {
    const r = this.route(transactionalId);
    if ('errorCode' in r) return false;
    const t = r.slot.machine.get(transactionalId);
    return t !== undefined && (t.pending || t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort);
  }

  async endTxn(i: TxnInput, commit: boolean, clientVersion: number): Promise<EndResult> {
    let r = this.route(i.transactionalId);
    if ('errorCode' in r) return { errorCode: r.errorCode };
    let fresh = -1;
    if (r.slot.machine.endNeedsProducerId(i.transactionalId, clientVersion)) {
      const id = await this.deps.raft.producerId();
      if (id.errorCode !== ErrorCode.NONE) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
      fresh = id.producerId;
      r = this.route(i.transactionalId);
      if ('errorCode' in r) return { errorCode: r.errorCode };
    }
    const res = await this.call(r.slot, (m, now, to) => m.endTxn(now, to, i, commit, clientVersion, fresh));
    this.noteFenced(`EndTxn (${commit ? 'commit' : 'abort'}, client version ${clientVersion})`, i, res.errorCode);
    return res;
  }

  /**
   * A fenced producer cannot go on, and why is gone once its next request succeeds: the
   * refusal is logged with what the coordinator held (rare, so off the hot path).
   */
  private noteFenced(request: string, i: TxnInput, errorCode: number): void {
    if (errorCode !== ErrorCode.PRODUCER_FENCED && errorCode !== ErrorCode.INVALID_PRODUCER_EPOCH) return;
    const r = this.route(i.transactionalId);
    const t = 'errorCode' in r ? undefined : r.slot.machine.get(i.transactionalId);
    const held = t && { producerId: t.producerId, producerEpoch: t.producerEpoch, lastProducerEpoch: t.lastProducerEpoch, state: TxnState[t.state], pending: t.pending };
    this.log.warn({ request, transactionalId: i.transactionalId, producerId: i.producerId, producerEpoch: i.producerEpoch, errorCode, held }, 'producer fenced');
  }

  describe(transactionalId: string): { errorCode: number; txn: DescribedTxn | undefined } {
    const r = this.route(transactionalId);
    if ('errorCode' in r) return { errorCode: r.errorCode, txn: undefined };
    const txn = r.slot.machine.describe(transactionalId);
    return { errorCode: txn ? ErrorCode.NONE : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, txn };
  }

  /** Every transactional id this broker coordinates; COORDINATOR_LOAD_IN_PROGRESS while a partition loads. */
  list(): { errorCode: number; txns: DescribedTxn[] } {
    const txns: DescribedTxn[] = [];
    let errorCode: number = ErrorCode.NONE;
    for (const s of this.partitions.all()) {
      if (s.loaded) txns.push(...s.machine.list());
      else errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    }
    return { errorCode, txns };
  }

  // ---- driving the machines ----------------------------------------------------------------

  private route(transactionalId: string): Routed {
    return transactionalId ? this.partitions.route(transactionalId) : { errorCode: ErrorCode.INVALID_REQUEST };
  }

  private call(slot: Slot, event: (m: TxnStateMachine, now: number, to: number) => Effects): Promise<InitResult | EndResult> {
    const to = this.nextReply;
    this.nextReply = this.nextReply === Number.MAX_SAFE_INTEGER ? 1 : this.nextReply + 1;
    const answered = new Promise<InitResult | EndResult>((resolve) => this.waiting.set(to, resolve));
    this.apply(slot, event(slot.machine, Date.now(), to));
    return answered;
  }

  private apply(slot: Slot, fx: Effects): void {
    for (const r of fx.replies) {
      const resolve = this.waiting.get(r.to);
      this.waiting.delete(r.to);
      resolve?.(r.result);
    }
    for (const w of fx.writes) {
      appendGroupRecords(this.deps.workers, TXN_TOPIC, slot.partition, slot.leaderEpoch, [{ key: w.key, value: w.value }])
        .catch((e: Error) => {
          this.log.error({ partition: slot.partition, err: e.message }, 'appending transaction records failed');
          return ErrorCode.UNKNOWN_SERVER_ERROR as number;
        })
        .then((errorCode) => {
          if (this.partitions.isCurrent(slot)) this.apply(slot, slot.machine.persisted(w.token, errorCode));
        });
    }
    for (const m of fx.markers) void this.writeMarkers(slot, m);
    this.arm(slot);
    for (const [id, waiters] of this.settling) if (!this.ending(id)) for (const done of [...waiters]) done();
  }

  /** Writes one transaction's markers until every partition took them or the partition is no longer coordinated here. */
  private async writeMarkers(slot: Slot, m: Markers): Promise<void> {
    const spec = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit, coordinatorEpoch: slot.leaderEpoch };
    for (let attempt = 0; this.partitions.isCurrent(slot); attempt++) {
      let done = false;
      try {
        done = await this.deps.markers.write(spec, m.partitions);
      } catch (e) {
        this.log.warn({ transactionalId: m.transactionalId, err: (e as Error).message }, 'writing transaction markers failed');
      }
      if (!this.partitions.isCurrent(slot)) return;
      if (done) {
        this.apply(slot, slot.machine.markersWritten(Date.now(), m));
        return;
      }
      if (attempt === 10) this.log.warn({ transactionalId: m.transactionalId }, 'transaction markers still not written; retrying');
      await new Promise((resolve) => setTimeout(resolve, MARKER_RETRY_MS).unref());
    }
  }

  private arm(slot: Slot): void {
    this.partitions.arm(slot, slot.machine.nextDeadline(), () => this.apply(slot, slot.machine.tick(Date.now())));
  }
}
