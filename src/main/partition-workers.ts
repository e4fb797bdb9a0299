/**
 * The main thread's side of the partition workers: starts them, sends each partition's part of
 * a request to the worker that owns it, and routes the results back to the request waiting for
 * them. Work goes out over the request ring and comes back over the response ring; control
 * (hosted partitions, shutdown) over postMessage.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode } from '../shared/errors.js';
import type { InterBrokerClient } from '../shared/broker-connection.js';
import type { Logger } from '../shared/logger.js';
import { createRing, RingConsumer, RingProducer } from '../shared/ring.js';
import { MsgType, Outbox, readMessage, type FromWorker, type ToWorker } from '../shared/thread-messages.js';
import type { BrokerEndpoint, HostedPartition, LogDescription, PartitionWorkerData, WorkerControl, WorkerEvent } from '../shared/worker-types.js';
import { partitionOwner } from '../shared/partition-owner.js';
import type { LogConfig } from '../workers/partition/log/config.js';
import type { ThreadStatsLayout } from '../shared/metrics/thread-stats.js';

/** 16 MiB each way: a fetch part of a full 1 MiB batch plus many in flight fit with room to spare. */
const RING_BYTES = 16 * 1024 * 1024;

export type ResultHandler = (m: FromWorker) => void;

interface WorkerHandle {
  worker: Worker;
  outbox: Outbox;
  responses: RingConsumer;
  events: ((e: WorkerEvent) => void)[];
}

export class PartitionWorkers {
  private readonly workers: WorkerHandle[] = [];
  private readonly pending = new Map<number, ResultHandler>();
  private nextReq = 1;
  /** Requests waiting for a partition worker's answer event, by id. */
  private readonly replies = new Map<number, (e: WorkerEvent) => void>();
  private nextReply = 1;

  constructor(
    private readonly count: number,
    private readonly opts: {
      nodeId: number;
      logDir: string;
      logConfig: LogConfig;
      cleanShutdown: boolean;
      replicaLagTimeMaxMs: number;
      interBroker: InterBrokerClient;
      logger: Logger;
      threadStats: ThreadStatsLayout;
      partitionStats: SharedArrayBuffer;
      /** Sends a worker's ISR change to the controller; resolves with the controller's error code (NONE: taken). */
      onAlterIsr: (e: Extract<WorkerEvent, { type: 'alter-isr' }>) => Promise<number>;
    },
  ) {}

  async start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.count; i++) {
      const requests = createRing(RING_BYTES);
      const responses = createRing(RING_BYTES);
      const workerData: PartitionWorkerData = {
        index: i,
        replicaLagTimeMaxMs: this.opts.replicaLagTimeMaxMs,
        interBroker: this.opts.interBroker,
        nodeId: this.opts.nodeId,
        logDir: this.opts.logDir,
        logConfig: this.opts.logConfig,
        cleanShutdown: this.opts.cleanShutdown,
        requests,
        responses,
        workers: this.count,
        threadStats: this.opts.threadStats,
        partitionStats: this.opts.partitionStats,
      };
      const worker = new Worker(new URL('../workers/partition/worker.js', import.meta.url), { workerData, name: `partition-worker-${i}` });
      const h: WorkerHandle = { worker, outbox: new Outbox(new RingProducer(requests)), responses: new RingConsumer(responses), events: [] };
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
        if (e.type === 'delete-records-result' || e.type === 'logs-described') {
          this.replies.get(e.id)?.(e);
          this.replies.delete(e.id);
          return;
        }
        for (const l of h.events.splice(0)) l(e);
      });
      worker.on('error', (e) => this.opts.logger.error({ worker: i, err: e.message, stack: e.stack }, 'partition worker crashed'));
      this.workers.push(h);
      ready.push(this.waitFor(h, 'ready'));
      void h.responses.run((bytes, view, at) => this.route(readMessage(bytes, view, at) as FromWorker));
    }
    await Promise.all(ready);
  }

  private waitFor(h: WorkerHandle, type: WorkerEvent['type']): Promise<void> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`partition worker exited with code ${code}`));
      const listen = (e: WorkerEvent): void => {
        if (e.type === 'fatal') {
          h.worker.off('exit', onExit);
          reject(new Error(e.message));
        } else if (e.type === type) {
          h.worker.off('exit', onExit);
          resolve();
        } else h.events.push(listen);
      };
      h.events.push(listen);
      h.worker.once('exit', onExit);
    });
  }

  private route(m: FromWorker): void {
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
    this.workers[worker]!.outbox.send(m);
  }

  /** Drops a long-poll request's watches on every worker. */
  unwatch(req: number): void {
    for (const h of this.workers) h.outbox.send({ type: MsgType.UNWATCH, req });
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

  private ask(h: WorkerHandle, build: (id: number) => WorkerControl): Promise<WorkerEvent> {
    const id = this.nextReply++;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      h.worker.postMessage(build(id));
    });
  }

  async setHosted(partitions: HostedPartition[], deletedTopics: string[], brokers: BrokerEndpoint[]): Promise<void> {
    await Promise.all(
      this.workers.map((h) => {
        const done = this.waitFor(h, 'hosted-applied');
        h.worker.postMessage({ type: 'hosted', partitions, deletedTopics, brokers } satisfies WorkerControl);
        return done;
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (h) => {
        const stopped = this.waitFor(h, 'stopped').catch(() => undefined);
        h.worker.postMessage({ type: 'shutdown' } satisfies WorkerControl);
        await stopped;
        h.responses.stop();
        await h.worker.terminate();
      }),
    );
  }
}
