/**
 * A partition worker: owns the logs of the partitions that hash to it for the life of the
 * process. It drains produce/fetch/list-offsets parts from its request ring, serves them from
 * its LogManager (appends join the manager's group commit) and answers on its response ring.
 * For partitions it leads it keeps the replicas' progress (replica-state.ts): the high
 * watermark, acks=all completion and ISR changes; for partitions it follows it runs one
 * replica fetcher per leader broker (replica-fetcher.ts).
 *
 * Fetched bytes are copied through the response ring rather than read by the main thread from
 * a file position the worker hands over. bench/fetch-path.ts measured both on a 2-core VM
 * (page-cached data, bytes ending in a main-thread Buffer): at 16 KiB per fetch part the ring
 * moved 1.29 GB/s at 1.35 CPU-s/GB of main thread against 0.10 GB/s at 7.5 CPU-s/GB for the
 * file read (one thread-pool hop per read); at 256 KiB 3.31 against 1.43 GB/s; only at 1 MiB
 * did the file read cost the main thread less (0.28 against 0.50 CPU-s/GB) at equal speed.
 * Fetch parts are mostly far below 1 MiB, and the main thread must never wait on the disk.
 *
 * Long-poll: a fetch part sent with `watch` registers a watch on its partition. A follower's
 * watch fires on the next write there, a consumer's when the high watermark moves; the worker
 * then sends WAKE for the request and drops the request's watches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { childLogger } from '../../shared/logger.js';
import { ErrorCode } from '../../shared/errors.js';
import { RingConsumer, RingProducer } from '../../shared/ring.js';
import { MsgType, Outbox, readMessage, type FetchMsg, type ListOffsetsMsg, type ProduceMsg, type ProduceResultMsg } from '../../shared/thread-messages.js';
import type { BrokerEndpoint, HostedPartition, HostingFailure, PartitionWorkerData, WorkerControl, WorkerEvent } from '../../shared/worker-types.js';
import { partitionOwner } from '../../shared/partition-owner.js';
import { LogManager } from './log/log-manager.js';
import type { PartitionLog } from './log/partition-log.js';
import { LeaderReplicaState } from './replica-state.js';
import { ReplicaFetcher, type FollowedPartition } from './replica-fetcher.js';

/** The metadata log shares the data dir but belongs to the raft worker. */
const METADATA_TOPIC = '__cluster_metadata';
/** An ISR change not reflected in metadata by then is proposed again. */
const ALTER_ISR_RETRY_MS = 1000;

const data = workerData as PartitionWorkerData;
const log = childLogger({ thread: `partition-worker-${data.index}` });
const port = parentPort!;
const outbox = new Outbox(new RingProducer(data.responses));
const requests = new RingConsumer(data.requests);
const EMPTY = Buffer.alloc(0);

interface PendingAck {
  lastOffset: number;
  msg: ProduceMsg;
  result: ProduceResultMsg;
  timer: NodeJS.Timeout;
}

interface Leadership {
  hosted: HostedPartition;
  state: LeaderReplicaState;
  /**
   * The log end when this leadership began. Until the high watermark reaches it, the mark may
   * be below one the previous leader already showed, so consumers are sent away to retry
   * rather than see it move backwards (as Kafka answers ListOffsets in that window).
   */
  epochStart: number;
  pending: PendingAck[];
  alterSentAt: number;
}

/** Partitions of this worker by "topic\0partition". */
const hosted = new Map<string, HostedPartition>();
const leaders = new Map<string, Leadership>();
/** The high watermark a follower learned from its leader: where it starts if it becomes leader. */
const followerHw = new Map<string, number>();
const fetchers = new Map<number, ReplicaFetcher>();
/** Fetch watches: partition key -> request id -> follower watch? */
const watchesByPartition = new Map<string, Map<number, boolean>>();
const watchesByRequest = new Map<number, string[]>();
const durableWaiters = new Map<PartitionLog, { offset: number; resolve: () => void }[]>();

let manager: LogManager;
let outboxLimit = 0;

function key(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

function post(e: WorkerEvent): void {
  port.postMessage(e);
}

function leaderLog(topic: string, partition: number): { l: PartitionLog; lead: Leadership } | number {
  const l = manager.get(topic, partition);
  if (!l) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const lead = leaders.get(key(topic, partition));
  if (!lead) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  if (l.offline) return ErrorCode.KAFKA_STORAGE_ERROR;
  return { l, lead };
}

function produceResult(m: ProduceMsg, error: number, baseOffset = -1, logStartOffset = -1, logAppendTime = -1): ProduceResultMsg {
  return { type: MsgType.PRODUCE_RESULT, req: m.req, part: m.part, error, baseOffset, logAppendTime, logStartOffset };
}

function produce(m: ProduceMsg): void {
  const found = leaderLog(m.topic, m.partition);
  if (typeof found === 'number') {
    if (m.acks !== 0) outbox.send(produceResult(m, found));
    return;
  }
  const { l, lead } = found;
  const acks = m.acks === 0 ? 0 : m.acks === 1 ? 1 : -1;
  if (acks === -1 && lead.state.isr.length < lead.hosted.minIsr) {
    outbox.send(produceResult(m, ErrorCode.NOT_ENOUGH_REPLICAS));
    return;
  }
  void manager.append(l, m.records as Buffer, { acks, leaderEpoch: lead.hosted.leaderEpoch }).then((r) => {
    if (acks === 0) return;
    const result = produceResult(m, r.errorCode, r.errorCode === ErrorCode.NONE ? r.baseOffset : -1, r.logStartOffset, r.logAppendTimeMs);
    if (acks === 1 || r.errorCode !== ErrorCode.NONE) {
      outbox.send(result);
      return;
    }
    const current = leaders.get(key(m.topic, m.partition));
    if (current !== lead) {
      outbox.send(produceResult(m, ErrorCode.NOT_LEADER_OR_FOLLOWER));
      return;
    }
    if (lead.state.highWatermark > r.lastOffset) {
      outbox.send(ackedResult(lead, result));
      return;
    }
    const pending: PendingAck = {
      lastOffset: r.lastOffset,
      msg: m,
      result,
      timer: setTimeout(() => {
        const i = lead.pending.indexOf(pending);
        if (i < 0) return;
        lead.pending.splice(i, 1);
        outbox.send(produceResult(m, ErrorCode.REQUEST_TIMED_OUT));
      }, Math.max(1, m.timeoutMs)),
    };
    lead.pending.push(pending);
  });
}

/** An acks=all write the ISR now holds: fewer in-sync replicas than required fails it. */
function ackedResult(lead: Leadership, result: ProduceResultMsg): ProduceResultMsg {
  if (lead.state.isr.length < lead.hosted.minIsr) return { ...result, error: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, baseOffset: -1 };
  return result;
}

function highWatermarkMoved(k: string, lead: Leadership): void {
  const hw = lead.state.highWatermark;
  if (lead.pending.length) {
    const still: PendingAck[] = [];
    for (const p of lead.pending) {
      if (p.lastOffset < hw) {
        clearTimeout(p.timer);
        outbox.send(ackedResult(lead, p.result));
      } else still.push(p);
    }
    lead.pending = still;
  }
  wakeWatches(k, false);
}

function failPending(lead: Leadership, error: number): void {
  for (const p of lead.pending) {
    clearTimeout(p.timer);
    outbox.send(produceResult(p.msg, error));
  }
  lead.pending = [];
}

function fetchResult(m: FetchMsg, error: number, hw = -1, logStartOffset = -1, records: Buffer = EMPTY) {
  return { type: MsgType.FETCH_RESULT, req: m.req, part: m.part, error, highWatermark: hw, logStartOffset, divergingEpoch: -1, divergingEndOffset: -1, records } as const;
}

function fetch(m: FetchMsg): void {
  const found = leaderLog(m.topic, m.partition);
  if (typeof found === 'number') {
    outbox.send(fetchResult(m, found));
    return;
  }
  const { l, lead } = found;
  const k = key(m.topic, m.partition);
  const follower = m.replicaId >= 0;
  let upper: number;
  if (follower) {
    if (!lead.state.isReplica(m.replicaId)) {
      outbox.send(fetchResult(m, ErrorCode.NOT_LEADER_OR_FOLLOWER));
      return;
    }
    if (m.lastFetchedEpoch >= 0) {
      const e = l.endOffsetForEpoch(m.lastFetchedEpoch);
      if (e.epoch !== m.lastFetchedEpoch || e.endOffset < m.offset) {
        outbox.send({
          ...fetchResult(m, ErrorCode.NONE, lead.state.highWatermark, l.logStartOffset),
          divergingEpoch: Math.max(e.epoch, 0),
          divergingEndOffset: e.epoch < 0 ? l.logEndOffset : e.endOffset,
        });
        return;
      }
    }
    if (lead.state.followerFetched(m.replicaId, m.offset, l.writtenEndOffset, l.durableEndOffset, Date.now())) highWatermarkMoved(k, lead);
    upper = l.writtenEndOffset;
  } else {
    if (lead.state.highWatermark < lead.epochStart) {
      outbox.send(fetchResult(m, ErrorCode.NOT_LEADER_OR_FOLLOWER));
      return;
    }
    upper = lead.state.highWatermark;
  }
  const hw = lead.state.highWatermark;
  if (m.watch) watch(m.req, k, follower);
  if (m.offset >= upper && m.offset <= l.logEndOffset) {
    outbox.send(fetchResult(m, ErrorCode.NONE, hw, l.logStartOffset));
    return;
  }
  const maxBytes = Math.min(Math.max(m.maxBytes, 0), outboxLimit);
  void manager.read(l, m.offset, maxBytes, upper).then((r) => {
    const records = r.records.length > outboxLimit ? EMPTY : r.records;
    outbox.send(fetchResult(m, r.errorCode, hw, r.logStartOffset, records));
  });
}

function listOffsets(m: ListOffsetsMsg): void {
  const found = leaderLog(m.topic, m.partition);
  const epoch = leaders.get(key(m.topic, m.partition))?.hosted.leaderEpoch ?? -1;
  const reply = (error: number, offset: number, timestamp: number): void =>
    outbox.send({ type: MsgType.LIST_OFFSETS_RESULT, req: m.req, part: m.part, error, offset, timestamp, leaderEpoch: epoch });
  if (typeof found === 'number') return reply(found, -1, -1);
  const { l, lead } = found;
  const hw = lead.state.highWatermark;
  if (hw < lead.epochStart) return reply(ErrorCode.OFFSET_NOT_AVAILABLE, -1, -1);
  if (m.timestamp === -1) return reply(0, hw, -1);
  if (m.timestamp === -2) return reply(0, l.logStartOffset, -1);
  if (m.timestamp === -3) {
    const t = l.maxTimestamp();
    return reply(0, t.offset, t.timestamp);
  }
  if (m.timestamp < 0) return reply(ErrorCode.INVALID_REQUEST, -1, -1);
  const at = l.offsetForTimestamp(m.timestamp);
  if (!at || at.offset >= hw) return reply(0, -1, -1);
  reply(0, at.offset, at.timestamp);
}

function watch(req: number, k: string, follower: boolean): void {
  let reqs = watchesByPartition.get(k);
  if (!reqs) watchesByPartition.set(k, (reqs = new Map()));
  reqs.set(req, follower);
  const keys = watchesByRequest.get(req);
  if (keys) keys.push(k);
  else watchesByRequest.set(req, [k]);
}

function unwatch(req: number): void {
  const keys = watchesByRequest.get(req);
  if (!keys) return;
  watchesByRequest.delete(req);
  for (const k of keys) {
    const reqs = watchesByPartition.get(k);
    if (!reqs) continue;
    reqs.delete(req);
    if (reqs.size === 0) watchesByPartition.delete(k);
  }
}

function wakeWatches(k: string, followers: boolean): void {
  const reqs = watchesByPartition.get(k);
  if (!reqs) return;
  for (const [req, follower] of [...reqs]) {
    if (follower !== followers) continue;
    unwatch(req);
    outbox.send({ type: MsgType.WAKE, req });
  }
}

function onDurable(l: PartitionLog): void {
  const waiters = durableWaiters.get(l);
  if (waiters) {
    const still = waiters.filter((w) => {
      if (l.durableEndOffset < w.offset) return true;
      w.resolve();
      return false;
    });
    if (still.length) durableWaiters.set(l, still);
    else durableWaiters.delete(l);
  }
  const k = key(l.topic, l.partition);
  const lead = leaders.get(k);
  if (lead && lead.state.advance(l.durableEndOffset)) highWatermarkMoved(k, lead);
}

function whenDurable(l: PartitionLog, offset: number): Promise<void> {
  if (l.durableEndOffset >= offset || l.offline) return Promise.resolve();
  return new Promise((resolve) => {
    const list = durableWaiters.get(l);
    const w = { offset, resolve };
    if (list) list.push(w);
    else durableWaiters.set(l, [w]);
  });
}

function checkIsr(): void {
  const now = Date.now();
  for (const lead of leaders.values()) {
    if (lead.hosted.replicas.length < 2) continue;
    if (lead.alterSentAt > 0 && now - lead.alterSentAt < ALTER_ISR_RETRY_MS) continue;
    const isr = lead.state.proposedIsr(now, data.replicaLagTimeMaxMs);
    if (!isr) continue;
    lead.alterSentAt = now;
    log.info({ topic: lead.hosted.topic, partition: lead.hosted.partition, from: lead.state.isr, to: isr }, 'proposing ISR change');
    post({ type: 'alter-isr', topicId: lead.hosted.topicId, partition: lead.hosted.partition, leaderEpoch: lead.hosted.leaderEpoch, partitionEpoch: lead.hosted.partitionEpoch, isr });
  }
}

/** Returns the partitions whose logs could not be opened (the others are applied regardless). */
async function applyHosted(partitions: HostedPartition[], deletedTopics: string[], brokers: BrokerEndpoint[]): Promise<HostingFailure[]> {
  for (const t of deletedTopics) {
    for (const k of [...leaders.keys()]) {
      if (!k.startsWith(`${t}\0`)) continue;
      failPending(leaders.get(k)!, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      leaders.delete(k);
    }
    for (const k of [...hosted.keys()]) if (k.startsWith(`${t}\0`)) hosted.delete(k);
    for (const l of [...manager.all()]) if (l.topic === t) await manager.delete(t, l.partition);
  }
  const now = Date.now();
  const mine = partitions.filter((p) => partitionOwner(p.topic, p.partition, data.workers) === data.index);
  const seen = new Set<string>();
  const follow = new Map<number, Map<string, FollowedPartition>>();
  const failed: HostingFailure[] = [];
  // All opened at once: new logs' creations overlap and share the fsyncs of the log dir.
  const opened = await Promise.allSettled(mine.map((p) => manager.create(p.topic, p.partition)));
  for (const [i, p] of mine.entries()) {
    const k = key(p.topic, p.partition);
    seen.add(k);
    const o = opened[i]!;
    if (o.status === 'rejected') {
      failed.push({ topic: p.topic, partition: p.partition, error: (o.reason as Error).message });
      continue;
    }
    const l = o.value;
    hosted.set(k, p);
    const lead = leaders.get(k);
    if (p.leader === data.nodeId) {
      if (lead && lead.hosted.leaderEpoch === p.leaderEpoch) {
        const isrChanged = lead.hosted.partitionEpoch !== p.partitionEpoch;
        lead.hosted = p;
        if (isrChanged) {
          lead.alterSentAt = 0;
          if (lead.state.setIsr(p.isr, l.durableEndOffset) || lead.pending.length) highWatermarkMoved(k, lead);
        }
      } else {
        if (lead) failPending(lead, ErrorCode.NOT_LEADER_OR_FOLLOWER);
        const start = p.replicas.length === 1 ? l.durableEndOffset : Math.min(followerHw.get(k) ?? l.logStartOffset, l.durableEndOffset);
        const state = new LeaderReplicaState(data.nodeId, p.replicas, p.isr, Math.max(start, l.logStartOffset), now);
        const next: Leadership = { hosted: p, state, pending: [], alterSentAt: 0, epochStart: l.logEndOffset };
        leaders.set(k, next);
        state.advance(l.durableEndOffset);
        log.info({ topic: p.topic, partition: p.partition, leaderEpoch: p.leaderEpoch, hw: state.highWatermark }, 'leading partition');
      }
    } else {
      if (lead) {
        failPending(lead, ErrorCode.NOT_LEADER_OR_FOLLOWER);
        leaders.delete(k);
        followerHw.set(k, lead.state.highWatermark);
      }
      if (p.leader >= 0 && p.replicas.includes(data.nodeId)) {
        let m = follow.get(p.leader);
        if (!m) follow.set(p.leader, (m = new Map()));
        m.set(k, { log: l, leaderEpoch: p.leaderEpoch });
      }
    }
  }
  for (const k of [...leaders.keys()]) {
    if (seen.has(k)) continue;
    failPending(leaders.get(k)!, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    leaders.delete(k);
  }
  const endpoints = new Map(brokers.map((b) => [b.id, b]));
  for (const [leaderId, f] of fetchers) {
    if (!follow.has(leaderId)) {
      f.stop();
      fetchers.delete(leaderId);
    }
  }
  for (const [leaderId, parts] of follow) {
    const ep = endpoints.get(leaderId);
    if (!ep) continue;
    let f = fetchers.get(leaderId);
    if (!f) {
      f = new ReplicaFetcher(leaderId, ep, data.nodeId, manager, {
        durable: whenDurable,
        highWatermark: (l, hw) => followerHw.set(key(l.topic, l.partition), hw),
      }, log);
      fetchers.set(leaderId, f);
    } else {
      f.setEndpoint(ep.host, ep.port);
    }
    f.setPartitions(parts);
  }
  if (failed.length) log.error({ partitions: failed.length, first: failed[0] }, 'cannot open the logs of hosted partitions');
  return failed;
}

async function main(): Promise<void> {
  manager = await LogManager.open({
    dir: data.logDir,
    config: data.logConfig,
    logger: log,
    maxOpenFiles: data.maxOpenFiles,
    cleanShutdown: data.cleanShutdown,
    owns: (topic: string, partition: number) => topic !== METADATA_TOPIC && partitionOwner(topic, partition, data.workers) === data.index,
  });
  outboxLimit = new RingProducer(data.responses).maxMessage - 64;
  manager.onAppend((l) => wakeWatches(key(l.topic, l.partition), true));
  manager.onDurable(onDurable);
  const isrTimer = setInterval(checkIsr, Math.max(100, Math.min(1000, data.replicaLagTimeMaxMs / 3)));
  let controlChain = Promise.resolve();
  port.on('message', (c: WorkerControl) => {
    controlChain = controlChain
      .then(async () => {
        if (c.type === 'hosted') {
          post({ type: 'hosted-applied', failed: await applyHosted(c.partitions, c.deletedTopics, c.brokers) });
        } else if (c.type === 'shutdown') {
          clearInterval(isrTimer);
          for (const f of fetchers.values()) f.stop();
          for (const lead of leaders.values()) failPending(lead, ErrorCode.NOT_LEADER_OR_FOLLOWER);
          requests.stop();
          await manager.close();
          post({ type: 'stopped' });
          port.close();
        }
      })
      .catch((e: Error) => {
        log.error({ err: e.message, stack: e.stack }, 'control message failed');
        post({ type: 'fatal', message: e.message });
      });
  });
  post({ type: 'ready', partitions: [...manager.all()].length });
  await requests.run((bytes, view, at) => {
    const m = readMessage(bytes, view, at);
    switch (m.type) {
      case MsgType.PRODUCE:
        return produce(m);
      case MsgType.FETCH:
        return fetch(m);
      case MsgType.LIST_OFFSETS:
        return listOffsets(m);
      case MsgType.UNWATCH:
        return unwatch(m.req);
      default:
        log.error({ type: m.type }, 'unexpected message on request ring');
    }
  });
}

main().catch((e: Error) => {
  log.error({ err: e.message, stack: e.stack }, 'partition worker failed');
  post({ type: 'fatal', message: e.message });
});
