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
import type { BrokerConfig } from '../../shared/config.js';
import { ErrorCode } from '../../shared/errors.js';
import { partitionForGroup } from '../../shared/groups/coordinator-partition.js';
import { childLogger, type Logger } from '../../shared/logger.js';
import { decodeTxnKey, decodeTxnValue, TxnState, type TopicPartitions } from '../../shared/transactions/records.js';
import {
  TxnStateMachine,
  type DescribedTxn,
  type EndResult,
  type Effects,
  type InitResult,
  type Markers,
  type TxnInput,
} from '../../shared/transactions/txn-state-machine.js';
import type { Coordinates } from '../groups/coordinator.js';
import { appendGroupRecords, readGroupRecords, type LoadOutcome } from '../groups/offsets-log.js';
import type { MetadataCache } from '../metadata-cache.js';
import type { PartitionWorkers } from '../partition-workers.js';
import type { RaftClient } from '../raft-client.js';
import type { MarkerWriter } from './markers.js';

export const TXN_TOPIC = '__transaction_state';

const LOAD_RETRY_MS = 1_000;
/** Segment size of __transaction_state (Kafka's transaction.state.log.segment.bytes default). */
const TXN_LOG_SEGMENT_BYTES = 100 * 1024 * 1024;
/** How long to wait before writing markers again after a partition refused them. */
const MARKER_RETRY_MS = 200;
/** setTimeout's longest delay; a later deadline is reached by re-arming. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TxnCoordinatorDeps {
  config: BrokerConfig;
  metadata: MetadataCache;
  raft: RaftClient;
  workers: PartitionWorkers;
  markers: MarkerWriter;
  hostedApplied(): Promise<void>;
}

interface Slot {
  partition: number;
  leaderEpoch: number;
  machine: TxnStateMachine;
  loaded: boolean;
  timer: NodeJS.Timeout | null;
}

type Routed = { slot: Slot } | { errorCode: number };

export class TxnCoordinator {
  private readonly slots = new Map<number, Slot>();
  private readonly waiting = new Map<number, (result: InitResult | EndResult) => void>();
  private nextReply = 1;
  private running = false;
  private creating: Promise<void> | null = null;
  private readonly log: Logger = childLogger({ thread: 'main', component: 'transactions' });

  constructor(private readonly deps: TxnCoordinatorDeps) {}

  start(): void {
    this.running = true;
    void this.watch();
  }

  stop(): void {
    this.running = false;
    for (const p of [...this.slots.keys()]) this.unload(p);
  }

  // ---- requests ----------------------------------------------------------------------------

  async findCoordinator(transactionalId: string): Promise<Coordinates> {
    const none = (errorCode: number): Coordinates => ({ errorCode, nodeId: -1, host: '', port: -1 });
    if (!transactionalId) return none(ErrorCode.INVALID_REQUEST);
    if (!this.deps.metadata.topic(TXN_TOPIC)) {
      await this.createTopic();
      if (!this.deps.metadata.topic(TXN_TOPIC)) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const topic = this.deps.metadata.topic(TXN_TOPIC)!;
    if (topic.partitions.length === 0) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const leader = topic.partitions[partitionForGroup(transactionalId, topic.partitions.length)]!.leader;
    const broker = leader < 0 ? undefined : this.deps.metadata.broker(leader);
    if (!broker || broker.fenced) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return { errorCode: ErrorCode.NONE, nodeId: broker.id, host: broker.host, port: broker.port };
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
    return this.call(r.slot, (m, now, to) => m.initProducerId(now, to, { transactionalId, timeoutMs, producerId, producerEpoch, freshProducerId: fresh })) as Promise<InitResult>;
  }

  async addPartitions(i: TxnInput, partitions: TopicPartitions[]): Promise<number> {
    const r = this.route(i.transactionalId);
    if ('errorCode' in r) return r.errorCode;
    const res = await this.call(r.slot, (m, now, to) => m.addPartitions(now, to, i, partitions));
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

  async endTxn(i: TxnInput, commit: boolean): Promise<number> {
    const r = this.route(i.transactionalId);
    if ('errorCode' in r) return r.errorCode;
    const res = await this.call(r.slot, (m, now, to) => m.endTxn(now, to, i, commit));
    return res.errorCode;
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
    for (const s of this.slots.values()) {
      if (s.loaded) txns.push(...s.machine.list());
      else errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    }
    return { errorCode, txns };
  }

  // ---- driving the machines ----------------------------------------------------------------

  private route(transactionalId: string): Routed {
    if (!transactionalId) return { errorCode: ErrorCode.INVALID_REQUEST };
    const topic = this.deps.metadata.topic(TXN_TOPIC);
    if (!topic || topic.partitions.length === 0) return { errorCode: ErrorCode.NOT_COORDINATOR };
    const p = partitionForGroup(transactionalId, topic.partitions.length);
    const meta = topic.partitions[p]!;
    if (meta.leader !== this.deps.config.nodeId) return { errorCode: ErrorCode.NOT_COORDINATOR };
    const slot = this.slots.get(p);
    if (!slot || slot.leaderEpoch !== meta.leaderEpoch) {
      this.reconcile();
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return slot.loaded ? { slot } : { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
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
          if (this.slots.get(slot.partition) === slot) this.apply(slot, slot.machine.persisted(w.token, errorCode));
        });
    }
    for (const m of fx.markers) void this.writeMarkers(slot, m);
    this.arm(slot);
  }

  /** Writes one transaction's markers until every partition took them or the partition is no longer coordinated here. */
  private async writeMarkers(slot: Slot, m: Markers): Promise<void> {
    const spec = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit, coordinatorEpoch: slot.leaderEpoch };
    for (let attempt = 0; this.slots.get(slot.partition) === slot; attempt++) {
      let done = false;
      try {
        done = await this.deps.markers.write(spec, m.partitions);
      } catch (e) {
        this.log.warn({ transactionalId: m.transactionalId, err: (e as Error).message }, 'writing transaction markers failed');
      }
      if (this.slots.get(slot.partition) !== slot) return;
      if (done) {
        this.apply(slot, slot.machine.markersWritten(Date.now(), m));
        return;
      }
      if (attempt === 10) this.log.warn({ transactionalId: m.transactionalId }, 'transaction markers still not written; retrying');
      await new Promise((resolve) => setTimeout(resolve, MARKER_RETRY_MS).unref());
    }
  }

  private arm(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const at = slot.machine.nextDeadline();
    if (at === null || !slot.loaded) return;
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (this.slots.get(slot.partition) === slot) this.apply(slot, slot.machine.tick(Date.now()));
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()) + 1));
    slot.timer.unref();
  }

  // ---- partitions: loading and unloading ---------------------------------------------------

  private async watch(): Promise<void> {
    while (this.running) {
      this.reconcile();
      await this.deps.metadata.nextUpdate(1000);
    }
  }

  private reconcile(): void {
    if (!this.running) return;
    const led = this.deps.metadata.ledPartitions(TXN_TOPIC);
    for (const [p, slot] of [...this.slots]) if (led.get(p) !== slot.leaderEpoch) this.unload(p);
    for (const [p, epoch] of led) if (!this.slots.has(p)) void this.load(p, epoch);
  }

  private async load(partition: number, leaderEpoch: number): Promise<void> {
    const slot: Slot = { partition, leaderEpoch, loaded: false, timer: null, machine: new TxnStateMachine({ maxTimeoutMs: this.deps.config.txnMaxTimeoutMs, idExpirationMs: this.deps.config.txnIdExpirationMs }) };
    this.slots.set(partition, slot);
    const started = Date.now();
    let bad = 0;
    let outcome: LoadOutcome;
    try {
      await this.deps.hostedApplied();
      outcome = await readGroupRecords(this.deps.workers, TXN_TOPIC, partition, (r) => {
        if (r.key === null) return;
        try {
          slot.machine.replay(decodeTxnKey(r.key), r.value === null ? null : decodeTxnValue(r.value));
        } catch {
          bad++;
        }
      });
    } catch (e) {
      this.log.error({ partition, err: (e as Error).message }, 'reading transaction state partition failed');
      outcome = { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, records: 0, skipped: 0 };
    }
    if (this.slots.get(partition) !== slot) return;
    if (outcome.errorCode !== ErrorCode.NONE) {
      this.log.warn({ partition, leaderEpoch, errorCode: outcome.errorCode }, 'loading transaction state partition failed; retrying');
      this.slots.delete(partition);
      setTimeout(() => this.reconcile(), LOAD_RETRY_MS).unref();
      return;
    }
    if (bad > 0) this.log.warn({ partition, unreadable: bad }, 'passed over records that are not transaction records');
    slot.loaded = true;
    this.log.info({ partition, leaderEpoch, records: outcome.records, ms: Date.now() - started }, 'transaction coordinator partition loaded');
    this.apply(slot, slot.machine.loaded(Date.now()));
  }

  private unload(partition: number): void {
    const slot = this.slots.get(partition);
    if (!slot) return;
    this.slots.delete(partition);
    if (slot.timer) clearTimeout(slot.timer);
    this.apply(slot, slot.machine.abandon(ErrorCode.NOT_COORDINATOR));
    if (slot.timer) clearTimeout(slot.timer);
    if (slot.loaded) this.log.info({ partition, leaderEpoch: slot.leaderEpoch }, 'transaction coordinator partition unloaded');
  }

  // ---- the topic ---------------------------------------------------------------------------

  private createTopic(): Promise<void> {
    this.creating ??= this.create().finally(() => {
      this.creating = null;
    });
    return this.creating;
  }

  private async create(): Promise<void> {
    const live = this.deps.metadata.liveBrokers().length;
    const results = await this.deps.raft.request({
      op: 'createTopics',
      topics: [{
        name: TXN_TOPIC,
        numPartitions: this.deps.config.txnTopicPartitions,
        replicationFactor: Math.max(1, Math.min(this.deps.config.txnTopicReplicationFactor, live)),
        // Kafka's transaction.state.log.segment.bytes: the active segment is never cleaned, so it stays small.
        configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(TXN_LOG_SEGMENT_BYTES) },
      }],
      validateOnly: false,
      timeoutMs: 30_000,
    });
    const r = results[0];
    if (r && r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      this.log.warn({ errorCode: r.errorCode }, 'creating the transaction state topic failed');
      return;
    }
    for (let i = 0; i < 20 && !this.deps.metadata.topic(TXN_TOPIC); i++) await this.deps.metadata.nextUpdate(500);
    await this.deps.hostedApplied();
    this.reconcile();
  }
}
