/**
 * The workload a checker run drives while faults strike: one producer per partition
 * (producer.ts: batches of fresh values, acks=all, several requests in flight, with or without
 * idempotence) and tailing consumers reading every partition from its leader. Producers and
 * consumers follow the metadata the brokers give them (metadata.ts). Everything they see goes
 * into the history (history.ts).
 *
 * The transactional workload replaces both: transactional producers (txn-producer.ts), each
 * writing transactions over a random subset of the partitions and committing or aborting
 * them, and read_committed readers, one per partition per consumer, which keep what Kafka's
 * consumer keeps (read-committed.ts). Its transactions, the readers' positions and the last
 * stable offsets they were told go into the transactional history (txn-history.ts).
 */
import { ErrorCode } from '../shared/errors.js';
import { BrokerLinks, CoordinatorType, type Address, type FetchAnswer, type IdempotentIdentity, type Outcome } from './client.js';
import type { HwObs, ReadObs, WriteOp } from './history.js';
import { MetadataView } from './metadata.js';
import { PartitionProducer, type BatchResult } from './producer.js';
import { committedRecords } from './read-committed.js';
import type { ReaderPosition, TxnHistory, TxnRecord } from './txn-history.js';
import { TransactionalProducer, type TxnProducerHost } from './txn-producer.js';

export interface WorkloadOptions {
  bootstrap: Address[];
  topic: string;
  partitions: number;
  idempotent?: boolean;
  /** Records per produced batch (default 5). */
  batchRecords?: number;
  /** Requests one producer keeps in flight (default 5, Kafka's limit with idempotence). */
  maxInFlight?: number;
  /** Least time between two new batches of one producer (default 10 ms). */
  pauseMs?: number;
  /** The Produce request's own timeout; the client waits 1 s longer for its answer. */
  requestTimeoutMs?: number;
  consumers?: number;
  /** Prefix of every value (keeps runs on one topic apart). */
  tag?: string;
  /** Transactional producers and read_committed readers instead of the plain ones. */
  transactional?: boolean;
  /** Transactional producers (default 3), each with its own transactional id. */
  transactionalProducers?: number;
  /** Share of transactions committed (the rest are aborted; default 2/3). */
  commitShare?: number;
  /** transaction.timeout.ms the producers ask for (default 10000). */
  transactionTimeoutMs?: number;
}

/** Errors after which a produce definitely did not append (the others may have). */
const DEFINITE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.CORRUPT_MESSAGE, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  ErrorCode.UNKNOWN_PRODUCER_ID, ErrorCode.INVALID_PRODUCER_EPOCH,
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Workload implements TxnProducerHost {
  readonly writes: WriteOp[] = [];
  readonly reads: ReadObs[] = [];
  readonly hws: HwObs[] = [];
  /** Transactional runs: every transaction that wrote, the readers' last stable offsets. */
  readonly txns: TxnRecord[] = [];
  readonly lsos: HwObs[] = [];
  private readonly readerPositions = new Map<string, ReaderPosition>();
  /**
   * Per transactional id, its own connections for batches and for its coordinator, so an
   * EndTxn never waits behind another producer's acks=all produce on a shared connection.
   */
  private readonly txnLinks = new Map<string, { produce: BrokerLinks; coordinator: BrokerLinks }>();
  /** What the producers and consumers know of the cluster. */
  readonly view: MetadataView;
  private active = false;
  private loops: Promise<void>[] = [];
  private readonly links = new BrokerLinks('checker-producer');
  /**
   * Metadata gets its own connections: answers on one connection come back in request order,
   * so a quick Metadata queued behind acks=all produces that wait out their timeout would hit
   * its own deadline and take the producers' connection down with it.
   */
  private readonly viewLinks = new BrokerLinks('checker-metadata');
  private readonly valueSeq: number[];
  /** Per partition, the latest send time of an acknowledged acks=all write. */
  private readonly lastAckedSend: number[];
  private readonly timeoutMs: number;
  private readonly prefix: string;

  constructor(readonly opts: WorkloadOptions) {
    this.prefix = `${opts.tag ?? 'v'}-`;
    this.view = new MetadataView(opts.bootstrap, opts.topic, this.viewLinks);
    this.timeoutMs = opts.requestTimeoutMs ?? 3000;
    this.valueSeq = new Array<number>(opts.partitions).fill(0);
    this.lastAckedSend = new Array<number>(opts.partitions).fill(-1);
  }

  get running(): boolean {
    return this.active;
  }

  get partitions(): number {
    return this.opts.partitions;
  }

  /** The transactional ids of a transactional run. */
  transactionalIds(): string[] {
    return this.opts.transactional ? Array.from({ length: this.opts.transactionalProducers ?? 3 }, (_, i) => `${this.prefix}txn-${i}`) : [];
  }

  /**
   * The transactional history once the run is over and `finalObserver` has read every
   * partition with readAllCommitted: the reads of the read_committed readers only.
   */
  txnHistory(finalObserver: string): TxnHistory {
    const readers = new Set([...this.readerPositions.values()].map((p) => p.observer));
    return {
      txns: this.txns,
      writes: this.writes,
      reads: this.reads.filter((r) => readers.has(r.observer)),
      positions: [...this.readerPositions.values()],
      lsos: this.lsos,
      finalObserver,
    };
  }

  /** Learns the topic's leaders, then starts producers and consumers. */
  async start(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await this.view.refresh()) || this.view.partitions().length < this.opts.partitions) {
      if (Date.now() > deadline) throw new Error(`no broker of ${this.opts.bootstrap} knows topic ${this.opts.topic} with ${this.opts.partitions} partitions`);
    }
    this.active = true;
    if (this.opts.transactional) {
      this.startTransactional();
      return;
    }
    for (let p = 0; p < this.opts.partitions; p++) {
      const producer = new PartitionProducer(this, p, {
        batchRecords: this.opts.batchRecords ?? 5,
        maxInFlight: this.opts.maxInFlight ?? 5,
        pauseMs: this.opts.pauseMs ?? 10,
        idempotent: !!this.opts.idempotent,
      });
      this.loops.push(producer.run());
    }
    for (let c = 0; c < (this.opts.consumers ?? 2); c++) this.loops.push(this.consumeLoop(`consumer-${c}`));
  }

  private startTransactional(): void {
    for (const transactionalId of this.transactionalIds()) {
      this.txnLinks.set(transactionalId, { produce: new BrokerLinks(`${transactionalId}-produce`), coordinator: new BrokerLinks(`${transactionalId}-coordinator`) });
      const producer = new TransactionalProducer(this, {
        transactionalId,
        batchRecords: this.opts.batchRecords ?? 5,
        batchesPerPartition: 2,
        commitShare: this.opts.commitShare ?? 2 / 3,
        retryForMs: 10_000,
        pauseMs: this.opts.pauseMs ?? 10,
        random: Math.random,
      });
      this.loops.push(producer.run());
    }
    for (let c = 0; c < (this.opts.consumers ?? 2); c++) {
      for (let p = 0; p < this.opts.partitions; p++) this.loops.push(this.readCommittedLoop(`committed-${c}`, p));
    }
  }

  async stop(): Promise<void> {
    this.active = false;
    await Promise.all(this.loops);
    this.loops = [];
    this.links.close();
    this.viewLinks.close();
    for (const l of this.txnLinks.values()) {
      l.produce.close();
      l.coordinator.close();
    }
  }

  /** Whether `partition` has an acknowledged acks=all write sent at or after `since`. */
  ackedSince(partition: number, since: number): boolean {
    return this.lastAckedSend[partition]! >= since;
  }

  nextValue(partition: number): string {
    return `${this.prefix}${partition}-${this.valueSeq[partition]!++}`;
  }

  refresh(): Promise<boolean> {
    return this.view.refresh();
  }

  async newIdentity(): Promise<IdempotentIdentity | undefined> {
    for (const p of this.view.partitions()) {
      const leader = this.view.leader(p.partition);
      if (!leader) continue;
      const r = await this.links.initProducerId(leader.address);
      if (r.kind === 'ok') return r.value;
    }
    return undefined;
  }

  txnValue(transactionalId: string, n: number): string {
    return `${transactionalId}-${n}`;
  }

  sendTxn(partition: number, values: string[], id: IdempotentIdentity & { baseSequence: number }, transactionalId: string): Promise<BatchResult> {
    const leader = this.view.leader(partition);
    return this.produce(partition, leader ? { id: leader.id, address: leader.address } : undefined, values, -1, id, undefined, {
      transactionalId, links: this.txnLinks.get(transactionalId)!.produce,
    });
  }

  /** Asks the brokers the metadata names, in turn, until one names the coordinator. */
  async findCoordinator(transactionalId: string): Promise<Address | undefined> {
    const links = this.txnLinks.get(transactionalId)!.coordinator;
    const addresses = [...new Set([...this.view.brokerIds().map((id) => this.view.address(id)!), ...this.opts.bootstrap])];
    const start = Math.floor(Math.random() * addresses.length);
    for (let i = 0; i < addresses.length; i++) {
      const r = await links.findCoordinator(addresses[(start + i) % addresses.length]!, transactionalId, CoordinatorType.TRANSACTION);
      if (r.kind === 'ok') return r.value.address;
    }
    return undefined;
  }

  initTxn(coordinator: Address, transactionalId: string): Promise<Outcome<IdempotentIdentity>> {
    return this.txnLinks.get(transactionalId)!.coordinator.initProducerId(coordinator, this.timeoutMs + 1000, {
      transactionalId, timeoutMs: this.opts.transactionTimeoutMs ?? 10_000,
    });
  }

  addPartitions(coordinator: Address, transactionalId: string, id: IdempotentIdentity, partitions: number[]): Promise<Outcome<null>> {
    return this.txnLinks.get(transactionalId)!.coordinator.addPartitionsToTxn(coordinator, transactionalId, id, this.opts.topic, partitions, this.timeoutMs + 1000);
  }

  endTxn(coordinator: Address, transactionalId: string, id: IdempotentIdentity, commit: boolean): Promise<Outcome<null>> {
    return this.txnLinks.get(transactionalId)!.coordinator.endTxn(coordinator, transactionalId, id, commit, this.timeoutMs + 1000);
  }

  recordTxn(txn: TxnRecord): void {
    this.txns.push(txn);
  }

  /** One acks=all produce of `values` to the partition's leader, recorded. */
  send(partition: number, values: string[], idempotent?: IdempotentIdentity & { baseSequence: number }): Promise<BatchResult> {
    const leader = this.view.leader(partition);
    return this.produce(partition, leader ? { id: leader.id, address: leader.address } : undefined, values, -1, idempotent);
  }

  /**
   * One write of a fresh value with `acks` to broker `nodeId` (default: the partition's leader),
   * recorded; no answer within `answerWithinMs` (default: the request timeout + 1 s) is unknown.
   */
  async writeOnce(partition: number, acks: -1 | 1, nodeId?: number, answerWithinMs?: number): Promise<WriteOp> {
    const id = nodeId ?? this.view.leader(partition)?.id ?? -1;
    const address = this.view.address(id);
    await this.produce(partition, address === undefined ? undefined : { id, address }, [this.nextValue(partition)], acks, undefined, answerWithinMs);
    return this.writes[this.writes.length - 1]!;
  }

  private async produce(
    partition: number,
    broker: { id: number; address: Address } | undefined,
    values: string[],
    acks: -1 | 1,
    idempotent?: IdempotentIdentity & { baseSequence: number },
    answerWithinMs?: number,
    txn?: { transactionalId: string; links: BrokerLinks },
  ): Promise<BatchResult> {
    const sentAt = Date.now();
    if (!broker) {
      this.record(partition, values, acks, -1, sentAt, 'fail', ErrorCode.LEADER_NOT_AVAILABLE, -1);
      return { outcome: 'fail', errorCode: ErrorCode.LEADER_NOT_AVAILABLE };
    }
    const r = await (txn?.links ?? this.links).produce(broker.address, this.opts.topic, partition, values, {
      acks,
      timeoutMs: this.timeoutMs,
      deadlineMs: answerWithinMs ?? this.timeoutMs + 1000,
      idempotent,
      transactionalId: txn?.transactionalId,
    });
    const result: BatchResult = r.kind === 'ok' ? { outcome: 'ok', errorCode: 0 }
      : r.kind === 'error' ? { outcome: DEFINITE.has(r.errorCode) ? 'fail' : 'unknown', errorCode: r.errorCode }
      : { outcome: 'unknown', errorCode: -1 };
    this.record(partition, values, acks, broker.id, sentAt, result.outcome, result.errorCode, r.kind === 'ok' ? r.value.baseOffset : -1);
    if (result.outcome === 'ok' && acks === -1) this.lastAckedSend[partition] = Math.max(this.lastAckedSend[partition]!, sentAt);
    return result;
  }

  /** One write op per value of the batch, each at its own offset when acknowledged. */
  private record(partition: number, values: string[], acks: -1 | 1, broker: number, sentAt: number, outcome: WriteOp['outcome'], errorCode: number, baseOffset: number): void {
    const doneAt = Date.now();
    values.forEach((value, i) => {
      this.writes.push({ value, partition, acks, broker, sentAt, doneAt, outcome, offset: outcome === 'ok' ? baseOffset + i : -1, errorCode });
    });
  }

  /**
   * Whether a value read is this workload's: the topic may hold records of earlier runs (of
   * other tags), which it neither wrote nor checks.
   */
  private mine(value: string): boolean {
    return value.startsWith(this.prefix);
  }

  private async consumeLoop(name: string): Promise<void> {
    const positions = new Array<number>(this.opts.partitions).fill(0);
    const links = new BrokerLinks(name);
    while (this.active) {
      for (let p = 0; p < this.opts.partitions && this.active; p++) await this.consumeOnce(links, name, p, positions);
      await sleep(20);
    }
    links.close();
  }

  private async consumeOnce(links: BrokerLinks, name: string, p: number, positions: number[]): Promise<void> {
    const leader = this.view.leader(p);
    if (!leader) {
      await this.view.refresh();
      return;
    }
    const r = await links.fetch(leader.address, this.opts.topic, p, positions[p]!, leader.epoch, 50, 2000);
    if (r.kind !== 'ok') {
      await this.view.refresh();
      return;
    }
    this.hws.push({ observer: name, partition: p, broker: leader.id, hw: r.value.highWatermark, at: Date.now() });
    for (const rec of r.value.records) {
      const value = rec.value?.toString() ?? '';
      if (this.mine(value)) this.reads.push({ observer: name, partition: p, offset: rec.offset, value });
      positions[p] = rec.offset + 1;
    }
  }

  /**
   * A read_committed reader of one partition, tailing it from offset 0: what it keeps of each
   * answer goes into the history, with the last stable offset and high watermark it was told
   * and, at the end, where it stopped.
   */
  private async readCommittedLoop(observer: string, p: number): Promise<void> {
    const links = new BrokerLinks(`${observer}-p${p}`);
    let position = 0;
    while (this.active) {
      const leader = this.view.leader(p);
      const r = leader ? await links.fetch(leader.address, this.opts.topic, p, position, leader.epoch, 100, 2000, true) : undefined;
      if (r?.kind !== 'ok') {
        await this.view.refresh();
        continue;
      }
      const at = Date.now();
      this.hws.push({ observer, partition: p, broker: leader!.id, hw: r.value.highWatermark, at });
      this.lsos.push({ observer, partition: p, broker: leader!.id, hw: r.value.lastStableOffset, at });
      position = this.keepCommitted(observer, p, position, r.value, at);
      this.readerPositions.set(`${observer}:${p}`, { observer, partition: p, offset: position });
      if (r.value.batches.length === 0) await sleep(20);
    }
    links.close();
  }

  /** Records what a read_committed reader keeps of one answer; its next position. */
  private keepCommitted(observer: string, p: number, position: number, answer: FetchAnswer, at?: number): number {
    const kept = committedRecords(answer.batches, answer.abortedTransactions, position);
    for (const rec of kept.records) {
      const value = rec.value?.toString() ?? '';
      if (this.mine(value)) this.reads.push({ observer, partition: p, offset: rec.offset, value, at });
    }
    return Math.max(position, kept.nextOffset ?? position);
  }

  /**
   * Reads every partition read_committed from offset 0, as `observer`, until its last stable
   * offset has reached its high watermark (no transaction open) and the read has reached both.
   */
  async readAllCommitted(observer: string, timeoutMs = 60_000): Promise<void> {
    const links = new BrokerLinks(observer);
    try {
      for (let p = 0; p < this.opts.partitions; p++) {
        const deadline = Date.now() + timeoutMs;
        let position = 0;
        let last = 'no answer yet';
        for (;;) {
          const leader = this.view.leader(p);
          const r = leader ? await links.fetch(leader.address, this.opts.topic, p, position, leader.epoch, 0, 5000, true) : undefined;
          if (r?.kind === 'ok') {
            position = this.keepCommitted(observer, p, position, r.value);
            const { lastStableOffset: lso, highWatermark: hw } = r.value;
            if (lso === hw && position >= lso) break;
            last = `read to ${position}, last stable offset ${lso}, high watermark ${hw}`;
            if (r.value.batches.length > 0) continue;
          } else {
            last = r === undefined ? 'no leader known' : r.kind === 'error' ? `error ${r.errorCode}` : r.reason;
            await this.view.refresh();
          }
          if (Date.now() > deadline) throw new Error(`final read_committed read of partition ${p}: ${last} after ${timeoutMs} ms`);
          await sleep(100);
        }
        this.readerPositions.set(`${observer}:${p}`, { observer, partition: p, offset: position });
      }
    } finally {
      links.close();
    }
  }

  /**
   * Reads every partition from offset 0 up to its leader's high watermark, as `observer`;
   * resolves with each partition's high watermark.
   */
  async readAll(observer: string, timeoutMs = 30_000): Promise<Map<number, number>> {
    const links = new BrokerLinks(observer);
    const hwByPartition = new Map<number, number>();
    try {
      for (let p = 0; p < this.opts.partitions; p++) {
        const deadline = Date.now() + timeoutMs;
        let offset = 0;
        let hw = -1;
        const seen: ReadObs[] = [];
        for (;;) {
          const leader = this.view.leader(p);
          const r = leader ? await links.fetch(leader.address, this.opts.topic, p, offset, leader.epoch, 0, 5000) : undefined;
          if (r?.kind !== 'ok') {
            if (Date.now() > deadline) throw new Error(`final read of partition ${p}: ${r === undefined ? 'no leader known' : r.kind === 'error' ? `error ${r.errorCode}` : r.reason}`);
            await this.view.refresh();
            continue;
          }
          hw = r.value.highWatermark;
          for (const rec of r.value.records) {
            const value = rec.value?.toString() ?? '';
            if (this.mine(value)) seen.push({ observer, partition: p, offset: rec.offset, value });
          }
          if (r.value.records.length === 0 || offset >= hw) break;
          offset = r.value.records[r.value.records.length - 1]!.offset + 1;
          if (offset >= hw) break;
        }
        this.reads.push(...seen);
        hwByPartition.set(p, hw);
      }
    } finally {
      links.close();
    }
    return hwByPartition;
  }
}
