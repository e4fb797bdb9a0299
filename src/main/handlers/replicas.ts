/**
 * ElectLeaders (decided by the controller, answered once the leadership changes commit) and
 * DescribeLogDirs (this broker's one log dir: every log's size, and the disk's capacity).
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode } from '../../shared/errors.js';
import type { ElectLeadersRequest } from '../../shared/protocol/generated/elect-leaders-request.js';
import type { DescribeLogDirsRequest } from '../../shared/protocol/generated/describe-log-dirs-request.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import type { BrokerContext } from '../context.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { DescribeLogDirsResponse, DescribeLogDirsResponseDescribeLogDirsPartition } from '../../shared/protocol/generated/describe-log-dirs-response.js';
import type { ElectLeadersResponse, ElectLeadersResponsePartitionResult } from '../../shared/protocol/generated/elect-leaders-response.js';

export async function handleElectLeaders(ctx: BrokerContext, req: ElectLeadersRequest, h: RequestHeaderInfo): Promise<Encodable<ElectLeadersResponse>> {
  const partitions = req.topicPartitions === null ? null : req.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
  // v0 has no election type: it asks for the preferred leader.
  const electionType = h.apiVersion === 0 ? 0 : req.electionType;
  if (electionType !== 0 && electionType !== 1) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
  }
  const results = partitions?.length === 0 ? [] : await ctx.raft.electLeaders({ electionType, partitions, timeoutMs: req.timeoutMs });
  if (results.some((r) => r.errorCode === ErrorCode.NONE)) await ctx.hostedApplied();
  const byTopic = new Map<string, Encodable<ElectLeadersResponsePartitionResult>[]>();
  for (const r of results) {
    let list = byTopic.get(r.topic);
    if (!list) byTopic.set(r.topic, (list = []));
    list.push({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult })),
  };
}

export async function handleDescribeLogDirs(ctx: BrokerContext, req: DescribeLogDirsRequest): Promise<Encodable<DescribeLogDirsResponse>> {
  const wanted = req.topics === null ? null : new Set(req.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}\0${p}`)));
  const logs = (await ctx.workers.describeLogs()).filter((l) => wanted === null || wanted.has(`${l.topic}\0${l.partition}`));
  const byTopic = new Map<string, Encodable<DescribeLogDirsResponseDescribeLogDirsPartition>[]>();
  for (const l of logs.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))) {
    let list = byTopic.get(l.topic);
    if (!list) byTopic.set(l.topic, (list = []));
    list.push({ partitionIndex: l.partition, partitionSize: l.size, offsetLag: l.offsetLag, isFutureKey: false });
  }
  const dir = path.resolve(ctx.config.logDir);
  const fs = await statfs(dir).catch(() => null);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [{
      errorCode: fs === null ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE,
      logDir: dir,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      totalBytes: fs === null ? -1 : fs.blocks * fs.bsize,
      usableBytes: fs === null ? -1 : fs.bavail * fs.bsize,
    }],
  };
}
