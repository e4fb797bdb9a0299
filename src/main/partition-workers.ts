/**
 * The main thread's side of the partition workers: starts them, sends each partition's part of
 * a request to the worker that owns it, and routes the results back to the request waiting for
 * them. Work goes out over the request ring and comes back over the response ring; control
 * (hosted partitions, shutdown) over postMessage.
 *
 * A worker that exits unasked (it crashed) answers nothing more: every part sent to it and not
 * answered yet, and every part sent to it from then on, gets NOT_LEADER_OR_FOLLOWER at once
 * (a client retries that after a metadata refresh), and `onExit` tells the broker, which
 * cannot serve that worker's partitions any more.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode } from '../shared/errors.js';
import type { InterBrokerClient } from '../shared/broker-connection.js';
import type { Logger } from '../shared/logger.js';
import { createRing, RingConsumer, RingProducer } from '../shared/ring.js';
import {
  MsgType, readMessage, type FetchMsg, type FromWorker, type ListOffsetsMsg, type ProduceMsg, type ToWorker,
} from '../shared/thread-messages.js';
import { Outbox } from '../shared/outbox.js';
import type { ActiveProducer, BrokerEndpoint, HostedPartition, HostingFailure, LogDescription, PartitionWorkerData, WorkerControl, WorkerEvent } from '../shared/worker-types.js';
import { partitionOwner } from '../shared/partition-owner.js';
import type { LogConfig } from '../shared/log-config.js';
import type { ThreadStatsLayout } from '../shared/metrics/thread-stats.js';
import type { CleanResult } from '../shared/clean-task.js';
import type { CleanerPool } from './cleaner-pool.js';

/** 16 MiB each way: a fetch part of a full 1 MiB batch plus many in flight fit with room to spare. */
const RING_BYTES = 16 * 1024 * 1024;

export type ResultHandler = (m: FromWorker) => void;

/** A ring between the main thread and a partition worker: `requests` carries work to it, `responses` its results back. */
export interface WorkerRing {
  thread: string;
  ring: 'requests' | 'responses';
  buffer: SharedArrayBuffer;
}

interface WorkerHandle {
  worker: Worker;
  outbox: Outbox;
  responses: RingConsumer;
  events: ((e: WorkerEvent) => void)[];
  /** Parts sent and not answered yet, by partKey, with what was asked. */
  unanswered: Map<number, ToWorker>;
  /** Exited, asked to or not. */
  exited: boolean;
}

/** Parts per request stay far below 2^20 (each names a partition in one frame). */
const partKey = (req: number, part: number): number => req * 0x100000 + part;

/** The answer to a part its worker will never answer. */
export function unansweredResult(m: ProduceMsg | FetchMsg | ListOffsetsMsg, error: number): FromWorker {
  const { req, part } = m;
  switch (m.type) {
    case MsgType.PRODUCE:
      return { type: MsgType.PRODUCE_RESULT, req, part, error, baseOffset: -1, logAppendTime: -1, logStartOffset: -1, toWorkerUs: 0, localUs: 0, queuedUs: 0, syncUs: 0, remoteUs: 0 };
    case MsgType.FETCH:
      return { type: MsgType.FETCH_RESULT, req, part, error, highWatermark: -1, logStartOffset: -1, divergingEpoch: -1, divergingEndOffset: -1, records: new Uint8Array(0) };
    case MsgType.LIST_OFFSETS:
      return { type: MsgType.LIST_OFFSETS_RESULT, req, part, error, offset: -1, timestamp: -1, leaderEpoch: -1 };
  }
}

export class PartitionWorkers {
  private readonly workers: WorkerHandle[] = [];
  /** Every worker's two rings, for the metrics endpoint. */
  readonly rings: WorkerRing[] = [];
  private readonly pending = new Map<number, ResultHandler>();
  private nextReq = 1;
  private stopping = false;
  /** Requests waiting for a partition worker's answer event, by id. */
  private readonly replies = new Map<number, (e: WorkerEvent) => void>();
  private nextReply = 1;

  constructor(
    private readonly count: number,
    private readonly opts: {
      nodeId: number;
      logDir: string;
      logConfig: LogConfig;
      /** File descriptors each worker's log files may hold. */
      maxOpenFiles: number;
      cleanShutdown: boolean;
      /** The log cleaner: its pool (in this thread) and each worker's settings; null when log.cleaner.enable is false. */
      cleaner: { pool: CleanerPool; backoffMs: number; offsetMapBytes: number } | null;
      replicaLagTimeMaxMs: number;
      highWatermarkCheckpointIntervalMs: number;
      interBroker: InterBrokerClient;
      logger: Logger;
      threadStats: ThreadStatsLayout;
      partitionStats: SharedArrayBuffer;
      followerQuota: SharedArrayBuffer;
      /** Sends a worker's ISR change to the controller; resolves with the controller's error code (NONE: taken). */
      onAlterIsr: (e: Extract<WorkerEvent, { type: 'alter-isr' }>) => Promise<number>;
      /** A worker exited without being asked to. */
      onExit: (index: number, code: number) => void;
    },
  ) {}

  async start(): Promise<void> {
    const ready: Promise<unknown>[] = [];
    for (let i = 0; i < this.count; i++) {
      const requests = createRing(RING_BYTES);
      const responses = createRing(RING_BYTES);
      const workerData: PartitionWorkerData = {
        index: i,
        replicaLagTimeMaxMs: this.opts.replicaLagTimeMaxMs,
        highWatermarkCheckpointIntervalMs: this.opts.highWatermarkCheckpointIntervalMs,
        interBroker: this.opts.interBroker,
        nodeId: this.opts.nodeId,
        logDir: this.opts.logDir,
        logConfig: this.opts.logConfig,
        maxOpenFiles: this.opts.maxOpenFiles,
        cleanShutdown: this.opts.cleanShutdown,
        cleaner: this.opts.cleaner === null ? null : { backoffMs: this.opts.cleaner.backoffMs, offsetMapBytes: this.opts.cleaner.offsetMapBytes },
        requests,
        responses,
        workers: this.count,
        threadStats: this.opts.threadStats,
        partitionStats: this.opts.partitionStats,
        followerQuota: this.opts.followerQuota,
      };
      const thread = `partition-worker-${i}`;
      const worker = new Worker(new URL('../workers/partition/worker.js', import.meta.url), { workerData, name: thread });
      this.rings.push({ thread, ring: 'requests', buffer: requests }, { thread, ring: 'responses', buffer: responses });
      const h: WorkerHandle = {
        worker, outbox: new Outbox(new RingProducer(requests)), responses: new RingConsumer(responses), events: [], unanswered: new Map(), exited: false,
      };
      worker.on('message', (e: WorkerEvent) => {
        if (e.type === 'fatal') this.opts.logger.error({ worker: i, err: e.message }, 'partition worker reported a failure');
        if (e.type === 'alter-isr') {
          // A refusal goes back to the worker, whose high watermark then stops counting the
          // refused members; an outcome not known (the request failed) is not a refusal.
          void this.opts.onAlterIsr(e).then((errorCode) => {
            if (errorCode === ErrorCode.NONE) return;
            const { topicId, partition, leaderEpoch, partitionEpoch } = e;
            h.worker.postMessage({ type: 'alter-isr-refused', topicId, partition, leaderEpoch, partitionEpoch, errorCode } satisfies WorkerControl);
          }, () => undefined);
          return;
        }
        if (e.type === 'clean') {
          const answer = (result: CleanResult | null, error: string | null): void => {
            if (!h.exited) h.worker.postMessage({ type: 'cleaned', id: e.id, result, error } satisfies WorkerControl);
          };
          this.opts.cleaner?.pool.clean(e.task).then((r) => answer(r, null), (err: Error) => answer(null, err.message));
          return;
        }
        if (e.type === 'delete-records-result' || e.type === 'logs-described' || e.type === 'producers-described') {
          this.replies.get(e.id)?.(e);
          this.replies.delete(e.id);
          return;
        }
        for (const l of h.events.splice(0)) l(e);
      });
      worker.on('error', (e) => this.opts.logger.error({ worker: i, err: e.message, stack: e.stack }, 'partition worker crashed'));
      worker.on('exit', (code) => this.onExit(h, i, code));
      this.workers.push(h);
      ready.push(this.waitFor(h, 'ready'));
      void h.responses.run((bytes, view, at) => this.route(h, readMessage(bytes, view, at) as FromWorker));
    }
    await Promise.all(ready);
  }

  private waitFor<T extends WorkerEvent['type']>(h: WorkerHandle, type: T): Promise<Extract<WorkerEvent, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`partition worker exited with code ${code}`));
      const listen = (e: WorkerEvent): void => {
        if (e.type === 'fatal') {
          h.worker.off('exit', onExit);
          reject(new Error(e.message));
        } else if (e.type === type) {
          h.worker.off('exit', onExit);
          resolve(e as Extract<WorkerEvent, { type: T }>);
        } else h.events.push(listen);
      };
      h.events.push(listen);
      h.worker.once('exit', onExit);
    });
  }

  private onExit(h: WorkerHandle, index: number, code: number): void {
    h.exited = true;
    if (this.stopping) return;
    this.opts.logger.fatal({ worker: index, code, unanswered: h.unanswered.size }, 'partition worker exited');
    // What it answered before it died still counts.
    h.responses.drain((bytes, view, at) => this.route(h, readMessage(bytes, view, at) as FromWorker));
    h.responses.stop();
    const lost = [...h.unanswered.values()];
    h.unanswered.clear();
    for (const m of lost) if (m.type !== MsgType.UNWATCH) this.route(h, unansweredResult(m, ErrorCode.NOT_LEADER_OR_FOLLOWER));
    this.opts.onExit(index, code);
  }

  private route(h: WorkerHandle, m: FromWorker): void {
    if (m.type !== MsgType.WAKE) h.unanswered.delete(partKey(m.req, m.part));
    const handler = this.pending.get(m.req);
    if (handler) handler(m);
  }

  /** Registers a request; its parts' results go to `handler` until `release`. */
  register(handler: ResultHandler): number {
    const req = this.nextReq;
    this.nextReq = this.nextReq === 0xffffffff ? 1 : this.nextReq + 1;
    this.pending.set(req, handler);
    return req;
  }

  release(req: number): void {
    this.pending.delete(req);
  }

  ownerOf(topic: string, partition: number): number {
    return partitionOwner(topic, partition, this.count);
  }

  send(worker: number, m: ToWorker): void {
    const h = this.workers[worker]!;
    if (m.type === MsgType.UNWATCH) {
      if (!h.exited) h.outbox.send(m);
      return;
    }
    if (h.exited) {
      // Answered on a later turn, as a live worker would be: the sender may still be sending parts.
      queueMicrotask(() => this.route(h, unansweredResult(m, ErrorCode.NOT_LEADER_OR_FOLLOWER)));
      return;
    }
    h.unanswered.set(partKey(m.req, m.part), m);
    h.outbox.send(m);
  }

  /** Drops a long-poll request's watches on every worker. */
  unwatch(req: number): void {
    for (let i = 0; i < this.workers.length; i++) this.send(i, { type: MsgType.UNWATCH, req });
  }

  /** DeleteRecords on a partition this broker leads (offset -1: up to the high watermark). */
  async deleteRecords(topic: string, partition: number, offset: number): Promise<{ errorCode: number; lowWatermark: number }> {
    const e = await this.ask(this.workers[this.ownerOf(topic, partition)]!, (id) => ({ type: 'delete-records', id, topic, partition, offset }));
    return e.type === 'delete-records-result' ? { errorCode: e.errorCode, lowWatermark: e.lowWatermark } : { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, lowWatermark: -1 };
  }

  /** The size of every log on this broker (DescribeLogDirs). */
  async describeLogs(): Promise<LogDescription[]> {
    const answers = await Promise.all(this.workers.map((h) => this.ask(h, (id) => ({ type: 'describe-logs', id }))));
    return answers.flatMap((e) => (e.type === 'logs-described' ? e.logs : []));
  }

  /** The active producers of a partition this broker leads (DescribeProducers). */
  async describeProducers(topic: string, partition: number): Promise<{ errorCode: number; producers: ActiveProducer[] }> {
    const e = await this.ask(this.workers[this.ownerOf(topic, partition)]!, (id) => ({ type: 'describe-producers', id, topic, partition }));
    return e.type === 'producers-described' ? { errorCode: e.errorCode, producers: e.producers } : { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, producers: [] };
  }

  private ask(h: WorkerHandle, build: (id: number) => WorkerControl): Promise<WorkerEvent> {
    const id = this.nextReply++;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      h.worker.postMessage(build(id));
    });
  }

  /** Returns the partitions whose logs the workers could not open. */
  async setHosted(partitions: HostedPartition[], deletedTopics: string[], brokers: BrokerEndpoint[]): Promise<HostingFailure[]> {
    const applied = await Promise.all(
      this.workers.filter((h) => !h.exited).map((h) => {
        const done = this.waitFor(h, 'hosted-applied');
        h.worker.postMessage({ type: 'hosted', partitions, deletedTopics, brokers } satisfies WorkerControl);
        return done;
      }),
    );
    return applied.flatMap((e) => e.failed);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.workers.filter((h) => !h.exited).map(async (h) => {
        const stopped = this.waitFor(h, 'stopped').catch(() => undefined);
        h.worker.postMessage({ type: 'shutdown' } satisfies WorkerControl);
        await stopped;
        h.responses.stop();
        await h.worker.terminate();
      }),
    );
  }
}
