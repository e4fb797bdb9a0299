/**
 * Fetch, with long-poll: every partition's read goes to its owning worker. If the answers
 * together hold fewer than `min_bytes` and `max_wait_ms` allows waiting, the workers keep a
 * watch on those partitions and send WAKE when an append lands there; the fetch then reads
 * again. The timer only bounds the wait: no polling. Fetch sessions are declined (session id 0
 * in every answer), which every client handles by sending full fetches.
 *
 * `max_bytes` bounds the response as Kafka does: partitions are filled in request order and
 * the first non-empty partition is kept whole even when it alone exceeds the limit.
 *
 * A follower's fetch (replica id >= 0) meets the leader side of the replication throttles
 * (replication-throttles.ts): in each read round, a throttled partition of a follower outside
 * the ISR gives no records while the leader rate is above its bound (the partition is not
 * failed, and its bytes do not count towards `min_bytes`, so the fetch waits as Kafka's
 * delayed fetch does); the records of throttled partitions sent are counted against the rate.
 *
 * isolation_level 1 (read_committed, v4+): each partition is read up to its last stable
 * offset, and the answer lists the aborted transactions within what was read, which the
 * client uses to drop their records.
 */
import { ErrorCode } from '../../shared/errors.js';
import { MsgType, type FetchResultMsg } from '../../shared/thread-messages.js';
import type { FetchRequest } from '../../shared/protocol/generated/fetch-request.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import { hexToWireUuid, wireUuidToHex } from '../../shared/topic-id.js';
import { EMPTY_BYTES, type Encodable } from '../../shared/protocol/codec.js';
import type { Connection } from '../connection.js';
import type { BrokerContext } from '../context.js';
import type { Part } from '../scatter.js';
import { currentLeader, leaderEndpoints, leaderError } from '../partition-leader.js';
import type { FetchResponse } from '../../shared/protocol/generated/fetch-response.js';

interface Item {
  topicIndex: number;
  partition: number;
  error: number;
  /** index into the round's parts, -1 when answered here */
  part: number;
}

export function handleFetch(ctx: BrokerContext, req: FetchRequest, h: RequestHeaderInfo, conn: Connection): Promise<Encodable<FetchResponse>> | Encodable<FetchResponse> {
  const byId = h.apiVersion >= 13;
  if (req.sessionId !== 0 && req.sessionEpoch > 0) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  }
  const replicaId = h.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
  const readCommitted = h.apiVersion >= 4 && req.isolationLevel === 1 && replicaId < 0;
  const names: (string | null)[] = req.topics.map((t) => (byId ? (ctx.metadata.topicById(wireUuidToHex(t.topicId))?.name ?? null) : t.topic));
  const parts: Part[] = [];
  /** Each part's partition, and whether the leader throttle applies to it (a follower's fetch). */
  const targets: { topic: string; partition: number; throttled: boolean }[] = [];
  const items: Item[][] = req.topics.map((t, ti) =>
    t.partitions.map((p) => {
      const name = names[ti];
      const item: Item = { topicIndex: ti, partition: p.partition, error: ErrorCode.NONE, part: -1 };
      if (name === null) item.error = ErrorCode.UNKNOWN_TOPIC_ID;
      else item.error = leaderError(ctx.metadata.partition(name, p.partition), ctx.config.nodeId, p.currentLeaderEpoch);
      if (name !== null && item.error === ErrorCode.NONE) {
        item.part = parts.length;
        targets.push({ topic: name, partition: p.partition, throttled: replicaId >= 0 && ctx.throttles.isLeaderThrottled(name, p.partition) });
        parts.push({
          worker: ctx.workers.ownerOf(name, p.partition),
          msg: {
            type: MsgType.FETCH,
            watch: false,
            topic: name,
            partition: p.partition,
            offset: p.fetchOffset,
            maxBytes: p.partitionMaxBytes,
            replicaId,
            lastFetchedEpoch: p.lastFetchedEpoch,
            currentLeaderEpoch: p.currentLeaderEpoch,
            readCommitted,
          },
        });
      }
      return item;
    }),
  );
  const hold = targets.some((x) => x.throttled) ? (results: FetchResultMsg[]): FetchResultMsg[] => {
    const now = Date.now();
    return results.map((r, i) => {
      const { topic, partition, throttled } = targets[i]!;
      if (!throttled || r.records.length === 0) return r;
      const isr = ctx.metadata.partition(topic, partition)?.isr ?? [];
      return ctx.throttles.withholds(topic, partition, replicaId, isr, now) ? { ...r, records: EMPTY_BYTES } : r;
    });
  } : undefined;
  const respond = (results: (FetchResultMsg | undefined)[]): Encodable<FetchResponse> => {
    let budget = req.maxBytes;
    let first = true;
    let throttledBytes = 0;
    const responses = req.topics.map((t, ti) => ({
      topic: names[ti] ?? t.topic,
      topicId: byId ? t.topicId : names[ti] ? hexToWireUuid(ctx.metadata.topic(names[ti]!)?.id ?? '') : t.topicId,
      partitions: items[ti]!.map((it) => {
        const r = it.part >= 0 ? results[it.part] : undefined;
        let records: Buffer = EMPTY_BYTES;
        if (r && r.error === ErrorCode.NONE && r.records.length > 0 && (first || r.records.length <= budget)) {
          records = r.records as Buffer;
          budget -= records.length;
          first = false;
          ctx.topicMetrics.fetched(names[ti]!, records.length, replicaId >= 0);
          if (targets[it.part]!.throttled) throttledBytes += records.length;
        }
        const meta = names[ti] ? ctx.metadata.partition(names[ti]!, it.partition) : undefined;
        const errorCode = r ? r.error : it.error;
        return {
          partitionIndex: it.partition,
          errorCode,
          highWatermark: r ? r.highWatermark : -1,
          lastStableOffset: r ? (r.lastStableOffset ?? r.highWatermark) : -1,
          logStartOffset: r ? r.logStartOffset : -1,
          abortedTransactions: readCommitted ? (records.length > 0 ? (r?.abortedTransactions ?? []) : []) : null,
          preferredReadReplica: -1,
          divergingEpoch: r && r.divergingEpoch >= 0 ? { epoch: r.divergingEpoch, endOffset: r.divergingEndOffset } : { epoch: -1, endOffset: -1 },
          currentLeader: currentLeader(errorCode, meta),
          records,
        };
      }),
    }));
    if (throttledBytes > 0) ctx.throttles.leader.record(throttledBytes, Date.now());
    const named = responses.flatMap((t) => t.partitions.map((p) => p.currentLeader));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses, nodeEndpoints: leaderEndpoints(named, (id) => ctx.metadata.endpoint(id, conn.listener)) };
  };
  if (parts.length === 0) return respond([]);
  return longPoll(ctx, parts, req.minBytes, req.maxWaitMs, hold).then(respond);
}

/**
 * Runs read rounds until `minBytes` are there or `maxWaitMs` passed; resolves with the last
 * round, after `hold` took from each round what the throttles withhold.
 */
function longPoll(ctx: BrokerContext, parts: Part[], minBytes: number, maxWaitMs: number, hold?: (round: FetchResultMsg[]) => FetchResultMsg[]): Promise<FetchResultMsg[]> {
  const workers = ctx.workers;
  return new Promise((resolve) => {
    const deadline = Date.now() + Math.max(0, maxWaitMs);
    const canWait = maxWaitMs > 0 && minBytes > 0;
    /** The last round every part answered; a timer that fires mid-round answers with it. */
    let complete: FetchResultMsg[] = [];
    let results: FetchResultMsg[] = [];
    let remaining = 0;
    let woken = false;
    let watched = false;
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const finish = (): void => {
      done = true;
      if (timer) clearTimeout(timer);
      workers.release(req);
      if (watched) workers.unwatch(req);
      resolve(complete);
    };
    const round = (): void => {
      woken = false;
      const watch = canWait && Date.now() < deadline;
      watched ||= watch;
      results = new Array(parts.length);
      remaining = parts.length;
      parts.forEach((p, i) => workers.send(p.worker, { ...p.msg, watch, req, part: i } as never));
    };
    const req = workers.register((m) => {
      if (done) return;
      if (m.type === MsgType.WAKE) {
        if (remaining > 0) woken = true;
        else round();
        return;
      }
      if (m.type !== MsgType.FETCH_RESULT || results[m.part] !== undefined) return;
      results[m.part] = m;
      if (--remaining > 0) return;
      complete = hold ? hold(results) : results;
      let bytes = 0;
      let failed = false;
      for (const r of complete) {
        bytes += r.records.length;
        if (r.error !== ErrorCode.NONE) failed = true;
      }
      if (!canWait || failed || bytes >= minBytes || Date.now() >= deadline) return finish();
      if (!timer) timer = setTimeout(finish, deadline - Date.now());
      if (woken) round();
    });
    round();
  });
}
