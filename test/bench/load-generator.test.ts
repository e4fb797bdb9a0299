// The benchmark load generator against a minimal Kafka-framed produce server on a real
// socket: what it counts is what the server accepted, open-loop sends keep their schedule,
// and unanswered requests are reported rather than dropped.
import t from 'tap';
import * as hdr from 'hdr-histogram-js';
import { decodeRequestHeader, encodeResponseFrame, Reader } from '../../src/shared/protocol/index.js';
import { decodeProduceRequest } from '../../src/shared/protocol/generated/produce-request.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { validateBatches } from '../../src/shared/record-batch.js';
import { runLoadHere, epochMs, type LoadSpec } from '../../bench/lib/load.js';
import { planConnections } from '../../bench/lib/plan.js';
import { latencyPlotSvg } from '../../bench/lib/latency-plot.js';
import { frameServer } from '../helpers/frame-server.js';

interface Server {
  port: number;
  records: number;
  requests: number;
  answering: boolean;
  close(): Promise<void>;
}

async function produceServer(): Promise<Server> {
  const state = { records: 0, requests: 0, answering: true };
  const server = await frameServer((frame, sock) => {
    const h = decodeRequestHeader(frame);
    const req = decodeProduceRequest(new Reader(frame, h.headerLength), h.apiVersion);
    state.requests++;
    for (const td of req.topicData) {
      for (const p of td.partitionData) {
        const v = validateBatches(p.records!);
        for (const b of v.batches) state.records += b.recordCount;
      }
    }
    if (req.acks === 0 || !state.answering) return;
    const body = {
      throttleTimeMs: 0,
      responses: req.topicData.map((td) => ({
        name: td.name,
        partitionResponses: td.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 })),
      })),
    };
    sock.write(Buffer.concat(encodeResponseFrame(ApiKey.Produce, h.apiVersion, h.correlationId, body)));
  });
  return Object.assign(state, {
    port: server.port,
    close: () => server.close(),
  });
}

function spec(port: number, over: Partial<LoadSpec>): LoadSpec {
  return {
    mode: 'closed',
    connections: [{ host: '127.0.0.1', port, partitions: [0, 1] }, { host: '127.0.0.1', port, partitions: [2] }],
    topic: 'load-test',
    acks: 1,
    recordSize: 100,
    recordsPerBatch: 10,
    inFlight: 3,
    rate: 0,
    startAt: epochMs() + 50,
    warmupMs: 0,
    durationMs: 400,
    drainMs: 500,
    ...over,
  };
}

t.test('closed loop counts only what the broker acknowledged', async (t) => {
  const s = await produceServer();
  t.teardown(() => s.close());
  // A window long enough that a busy machine still completes requests inside it.
  const r = await runLoadHere(spec(s.port, { startAt: epochMs() + 300, durationMs: 1500 }));
  t.same(r.errors, {});
  t.ok(r.records > 0, 'records were acknowledged');
  t.equal(r.records % 10, 0, 'whole batches');
  t.ok(r.records <= s.records, 'never more than the server received');
  t.ok(r.requests > 0 && r.requests <= s.requests);
});

t.test('acks=0 ends with a fence the broker answers', async (t) => {
  const s = await produceServer();
  t.teardown(() => s.close());
  const r = await runLoadHere(spec(s.port, { acks: 0 }));
  t.same(r.errors, {});
  t.ok(r.records > 0);
  t.ok(r.fenceMs >= 0 && r.fenceMs < 5000);
  t.ok(r.records <= s.records);
});

t.test('open loop keeps its schedule and records every answer', async (t) => {
  const s = await produceServer();
  t.teardown(() => s.close());
  const r = await runLoadHere(spec(s.port, { mode: 'open', rate: 5000, durationMs: 500 }));
  t.same(r.errors, {});
  t.equal(r.unanswered, 0);
  // 5000 records/s in batches of 10 for 0.5 s: 250 requests, all recorded.
  t.equal(r.requests, 250);
  t.equal(r.records, 2500);
  hdr.initWebAssemblySync();
  const h = hdr.decodeFromCompressedBase64(r.latency!, 32, true);
  t.equal(h.totalCount, 250);
  t.ok(h.maxValue < 1_000_000, 'answers within a second');
});

t.test('unanswered requests are counted and recorded as waiting until the drain deadline', async (t) => {
  const s = await produceServer();
  t.teardown(() => s.close());
  s.answering = false;
  const r = await runLoadHere(spec(s.port, { mode: 'open', rate: 2000, durationMs: 200, drainMs: 300 }));
  t.equal(r.unanswered, 40);
  hdr.initWebAssemblySync();
  const h = hdr.decodeFromCompressedBase64(r.scheduled!, 32, true);
  t.equal(h.totalCount, 40);
  t.ok(h.minNonZeroValue >= 300_000, 'each waited at least the drain time');
});

t.test('connections are planned per partition leader', async (t) => {
  const a = { host: '127.0.0.1', port: 1 };
  const b = { host: '127.0.0.1', port: 2 };
  const plans = planConnections({ leaders: [a, b, a, b, a] }, 2);
  t.same(plans.map((p) => [p.port, p.partitions]), [[1, [0, 4]], [1, [2]], [2, [1]], [2, [3]]]);
  const single = planConnections({ leaders: [a] }, 3);
  t.same(single.map((p) => p.partitions), [[0], [0], [0]]);
});

t.test('the latency plot is well-formed SVG with a line per series', async (t) => {
  const h = hdr.build();
  for (let i = 1; i <= 1000; i++) h.recordValue(i * 10);
  const svg = latencyPlotSvg('test <plot>', [{ label: 'a', histogram: h }, { label: 'b', histogram: h }]);
  t.match(svg, /^<svg /);
  t.equal((svg.match(/<path /g) ?? []).length, 2);
  t.match(svg, /test &lt;plot&gt;/);
  t.match(svg, /99\.999%/);
});
