#!/usr/bin/env node
/**
 * Generates src/shared/thread-messages.ts, the binary messages that cross the rings between
 * the main thread and a partition worker, from the one table below: each message's type
 * code, its fixed fields with their offsets, and the variable fields that follow them in
 * order. The output holds the message types, the layout comment, and straight-line
 * `writeMessage` / `readMessage` (no loop over fields at run time: they are on the hot path).
 *
 * Fixed-field kinds: u8 i8 i16 u16 u32 i32 f64; `bool` (u8 0/1); `now` (f64 written as the
 * sender's clock.ts time, read back into the field). Every message has `type` at 0 (u8)
 * and `req` at 4 (u32); the table lists the rest. `optional` fields may be absent when
 * sent: a bool as false, a number as its `absent` value.
 * Variable kinds, written after the fixed part in order: `topic` (a str, encoded once per
 * topic name), `message` (a str, absent when empty), `aborted` (u32 count, then producerId
 * f64 | firstOffset f64 each), `bytes` (u32 length | u8 skip | skip bytes | the bytes).
 *
 * The output is committed; run `npm run gen` after changing the table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outFile = path.resolve(repoRoot, 'src/shared/thread-messages.ts');

const MESSAGES = [
  {
    name: 'PRODUCE', code: 1, iface: 'ProduceMsg', dir: 'main -> worker',
    fields: [
      ['acks', 'i8', 1],
      ['markers', 'bool', 2, { optional: true, doc: 'Transaction markers from a transaction coordinator (control batches allowed).' }],
      ['part', 'u32', 8],
      ['partition', 'i32', 12],
      ['leaderEpoch', 'i32', 16, { doc: 'The leadership the write is meant for.' }],
      ['timeoutMs', 'i32', 20],
      ['sentAt', 'now', 24, { doc: 'When it was written to the ring (clock.ts): stamped by writeMessage, read back on the other side.' }],
    ],
    fixed: 32,
    tail: [['topic', 'topic'], ['records', 'bytes']],
  },
  {
    name: 'FETCH', code: 2, iface: 'FetchMsg', dir: 'main -> worker',
    fields: [
      ['watch', 'bool', 1],
      ['readCommitted', 'bool', 2, { optional: true, doc: 'isolation_level 1: only up to the last stable offset, with the aborted transactions.' }],
      ['part', 'u32', 8],
      ['partition', 'i32', 12],
      ['maxBytes', 'i32', 16],
      ['offset', 'f64', 20],
      ['replicaId', 'i32', 28, { doc: '-1: a consumer; >= 0: a follower broker fetching to replicate.' }],
      ['lastFetchedEpoch', 'i32', 32],
      ['currentLeaderEpoch', 'i32', 36],
    ],
    fixed: 40,
    tail: [['topic', 'topic']],
  },
  {
    name: 'LIST_OFFSETS', code: 3, iface: 'ListOffsetsMsg', dir: 'main -> worker',
    fields: [
      ['readCommitted', 'bool', 1, { optional: true, doc: 'isolation_level 1: "latest" is the last stable offset.' }],
      ['part', 'u32', 8],
      ['partition', 'i32', 12],
      ['currentLeaderEpoch', 'i32', 16, { doc: '-1: the sender does not check the leader\'s epoch.' }],
      ['timestamp', 'f64', 20],
    ],
    fixed: 28,
    tail: [['topic', 'topic']],
  },
  { name: 'UNWATCH', code: 4, iface: 'UnwatchMsg', dir: 'main -> worker', fields: [], fixed: 8, tail: [] },
  {
    name: 'PRODUCE_RESULT', code: 11, iface: 'ProduceResultMsg', dir: 'worker -> main',
    fields: [
      ['error', 'i16', 2],
      ['part', 'u32', 8],
      ['toWorkerUs', 'i32', 12, { doc: 'From the main thread\'s send to the worker taking it up.' }],
      ['baseOffset', 'f64', 16],
      ['logAppendTime', 'f64', 24],
      ['logStartOffset', 'f64', 32],
      ['sentAt', 'now', 40, { doc: 'When it was written to the ring (clock.ts): stamped by writeMessage.' }],
      ['localUs', 'i32', 48, { doc: 'Validating and writing the batch.' }],
      ['queuedUs', 'i32', 52, { doc: 'Written, waiting for a group-commit round to start.' }],
      ['syncUs', 'i32', 56, { doc: 'The fdatasync round.' }],
      ['remoteUs', 'i32', 60, { doc: 'Durable here, waiting for the in-sync replicas.' }],
    ],
    fixed: 64,
    tail: [['errorMessage', 'message', { doc: 'Why the append was refused, as the produce response tells the client.' }]],
  },
  {
    name: 'FETCH_RESULT', code: 12, iface: 'FetchResultMsg', dir: 'worker -> main',
    fields: [
      ['error', 'i16', 2],
      ['part', 'u32', 8],
      ['divergingEpoch', 'i32', 12, { doc: '-1: the follower\'s log agrees.' }],
      ['highWatermark', 'f64', 16],
      ['logStartOffset', 'f64', 24],
      ['divergingEndOffset', 'f64', 32],
      ['lastStableOffset', 'f64', 40, { optional: true, absent: -1, doc: '-1 when unknown (an error); the high watermark when no transaction is open.' }],
    ],
    fixed: 48,
    tail: [
      ['abortedTransactions', 'aborted', { doc: 'For a read_committed fetch: the aborted transactions with records in the range read.' }],
      ['records', 'bytes'],
    ],
  },
  {
    name: 'LIST_OFFSETS_RESULT', code: 13, iface: 'ListOffsetsResultMsg', dir: 'worker -> main',
    fields: [
      ['error', 'i16', 2],
      ['part', 'u32', 8],
      ['leaderEpoch', 'i32', 12],
      ['offset', 'f64', 16],
      ['timestamp', 'f64', 24],
    ],
    fixed: 32,
    tail: [],
  },
  { name: 'WAKE', code: 14, iface: 'WakeMsg', dir: 'worker -> main', doc: 'Data arrived for a watched fetch.', fields: [], fixed: 8, tail: [] },
];

const ACCESS = {
  u8: ['Uint8', 1, false], i8: ['Int8', 1, false], i16: ['Int16', 2, true], u16: ['Uint16', 2, true],
  u32: ['Uint32', 4, true], i32: ['Int32', 4, true], f64: ['Float64', 8, true], bool: ['Uint8', 1, false], now: ['Float64', 8, true],
};
const TAIL_TYPES = { topic: 'string', message: 'string', aborted: 'AbortedTransaction[]', bytes: 'Uint8Array' };

function check(m) {
  const used = new Array(m.fixed).fill(false);
  const claim = (off, size, what) => {
    for (let i = off; i < off + size; i++) {
      if (i >= m.fixed || used[i]) throw new Error(`${m.name}: ${what} overlaps or passes the fixed part`);
      used[i] = true;
    }
  };
  claim(0, 1, 'type');
  claim(4, 4, 'req');
  for (const [name, kind, off] of m.fields) claim(off, ACCESS[kind][1], name);
}

function layoutLine(m) {
  const parts = [['type', 'u8', 0], ['req', 'u32', 4], ...m.fields.map(([n, k, o]) => [n, k === 'now' ? 'f64' : k === 'bool' ? 'u8' : k, o])]
    .sort((a, b) => a[2] - b[2]);
  const cells = [];
  let at = 0;
  for (const [n, k, o] of parts) {
    for (; at < o; ) {
      const gap = o - at >= 2 && at % 2 === 0 ? 2 : 1;
      cells.push(gap === 2 ? '- u16' : '- u8');
      at += gap;
    }
    cells.push(`${n} ${k}`);
    at = o + ACCESS[k][1];
  }
  for (const [n, k] of m.tail) cells.push(`${n} ${k === 'topic' || k === 'message' ? 'str' : k}`);
  return cells;
}

/** Cells joined by ' | ', broken between cells; continuation lines start with '| '. */
function wrap(cells, width) {
  const lines = [];
  let line = '';
  for (const c of cells) {
    const next = line ? `${line} | ${c}` : c;
    if (line && next.length > width) {
      lines.push(line);
      line = `| ${c}`;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

function header() {
  const out = [];
  out.push('// Generated by tools/gen-ring-messages.mjs from its table of fields: do not edit by hand.');
  out.push('/**');
  out.push(' * The binary messages that cross the rings between the main thread and a partition worker.');
  out.push(' * Hot-path only: produce, fetch and list-offsets parts and their results. Control traffic');
  out.push(' * (which partitions a worker hosts, shutdown) goes over postMessage.');
  out.push(' *');
  out.push(' * Every message starts with a u8 type and a u32 request id (offset 4), so either side can');
  out.push(' * route a message before decoding the rest. Offsets and timestamps travel as float64, which is');
  out.push(' * exact for every integer below 2^53. Strings are u16 length + UTF-8. All little-endian.');
  out.push(' * A bytes field is u32 length | u8 skip | skip bytes (0-7) | the bytes, where skip puts the');
  out.push(' * bytes at the same offset modulo 8 as in the sender\'s buffer: V8 copies to and from shared');
  out.push(' * memory word by word only when both sides share that alignment, and byte by byte otherwise');
  out.push(' * (1.7 against 13 GB/s for a 16 KiB batch on a 2-core VM). The receiver copies them out into');
  out.push(' * a buffer aligned like the ring for the same reason.');
  let dir = '';
  for (const m of MESSAGES) {
    if (m.dir !== dir) {
      dir = m.dir;
      out.push(' *');
      out.push(` *   ${dir}`);
    }
    const lines = wrap(layoutLine(m), 100 - 25);
    out.push(` *   ${m.name.padEnd(20)}${lines[0]}`);
    for (const l of lines.slice(1)) out.push(` *   ${''.padEnd(20)}${l}`);
  }
  out.push(' */');
  return out;
}

function iface(m) {
  const out = [];
  if (m.doc) out.push(`/** ${m.doc} */`);
  out.push(`export interface ${m.iface} {`);
  out.push(`  type: MsgType.${m.name};`);
  out.push('  req: number;');
  const doc = (d) => {
    if (d) out.push(`  /** ${d} */`);
  };
  for (const [name, kind, , opts = {}] of m.fields) {
    doc(opts.doc);
    const optional = opts.optional || kind === 'now';
    out.push(`  ${name}${optional ? '?' : ''}: ${kind === 'bool' ? 'boolean' : 'number'};`);
  }
  for (const [name, kind, opts = {}] of m.tail) {
    doc(opts.doc);
    const optional = kind === 'message' || kind === 'aborted';
    out.push(`  ${name}${optional ? '?' : ''}: ${TAIL_TYPES[kind]};`);
  }
  out.push('}');
  return out;
}

function writeCase(m) {
  const out = [];
  const texts = m.tail.filter(([, k]) => k === 'topic' || k === 'message');
  const sizeTerms = [String(m.fixed)];
  for (const [name, kind] of m.tail) {
    if (kind === 'topic' || kind === 'message') sizeTerms.push(`2 + ${name}Text.length`);
    else if (kind === 'aborted') sizeTerms.push(`4 + 16 * ${name}.length`);
    else sizeTerms.push(`BYTES_OVERHEAD + m.${name}.length`);
  }
  out.push(`    case MsgType.${m.name}: {`);
  for (const [name, kind] of texts) out.push(`      const ${name}Text = ${kind === 'topic' ? `encodeTopic(m.${name})` : `encodeMessage(m.${name})`};`);
  for (const [name, kind] of m.tail) if (kind === 'aborted') out.push(`      const ${name} = m.${name} ?? [];`);
  out.push(`      const at = ring.reserve(${sizeTerms.join(' + ')});`);
  out.push('      if (at < 0) return false;');
  out.push('      const v = ring.view;');
  out.push(`      v.setUint8(at, MsgType.${m.name});`);
  out.push('      v.setUint32(at + 4, m.req, true);');
  for (const [name, kind, off, opts = {}] of m.fields) {
    const [acc, , le] = ACCESS[kind];
    let value = `m.${name}`;
    if (kind === 'bool') value = `m.${name} ? 1 : 0`;
    else if (kind === 'now') value = 'processNow()';
    else if (opts.optional) value = `m.${name} ?? ${opts.absent}`;
    out.push(`      v.set${acc}(at + ${off}, ${value}${le ? ', true' : ''});`);
  }
  if (m.tail.length > 0) {
    out.push(`      ${m.tail.length > 1 ? 'let' : 'const'} p = at + ${m.fixed};`);
    m.tail.forEach(([name, kind], i) => {
      const last = i === m.tail.length - 1;
      const call =
        kind === 'topic' || kind === 'message' ? `writeStr(ring, p, ${name}Text)` : kind === 'aborted' ? `writeAborted(v, p, ${name})` : `writeBytes(ring, p, m.${name})`;
      out.push(last ? `      ${call};` : `      p = ${call};`);
    });
  }
  out.push('      break;');
  out.push('    }');
  return out;
}

function readCase(m) {
  const out = [];
  out.push(`    case MsgType.${m.name}: {`);
  const props = ['type', 'req'];
  for (const [name, kind, off] of m.fields) {
    const [acc, , le] = ACCESS[kind];
    const get = `v.get${acc}(at + ${off}${le ? ', true' : ''})`;
    props.push(`${name}: ${kind === 'bool' ? `${get} === 1` : get}`);
  }
  if (m.tail.length > 0) out.push(`      ${m.tail.length > 1 ? 'let' : 'const'} p = at + ${m.fixed};`);
  m.tail.forEach(([name, kind], i) => {
    const last = i === m.tail.length - 1;
    if (kind === 'topic' || kind === 'message') {
      out.push(`      const ${name} = readStr(bytes, v, p);`);
      if (!last) out.push(`      p += 2 + v.getUint16(p, true);`);
      props.push(kind === 'message' ? `${name}: ${name} === '' ? undefined : ${name}` : name);
    } else if (kind === 'aborted') {
      out.push(`      const ${name} = readAborted(v, p);`);
      if (!last) out.push(`      p += 4 + 16 * ${name}.length;`);
      props.push(name);
    } else {
      out.push(`      const ${name} = readBytes(bytes, v, p);`);
      props.push(name);
    }
  });
  out.push('      return {');
  for (const prop of props) out.push(`        ${prop},`);
  out.push('      };');
  out.push('    }');
  return out;
}

function generate() {
  for (const m of MESSAGES) check(m);
  const out = [...header()];
  out.push("import { processNow } from './clock.js';");
  out.push("import type { RingProducer } from './ring.js';");
  out.push("import { BYTES_OVERHEAD, encodeMessage, encodeTopic, readAborted, readBytes, readStr, writeAborted, writeBytes, writeStr, type AbortedTransaction } from './ring-fields.js';");
  out.push('');
  out.push("export type { AbortedTransaction } from './ring-fields.js';");
  out.push('');
  out.push('export const enum MsgType {');
  for (const m of MESSAGES) out.push(`  ${m.name} = ${m.code},`);
  out.push('}');
  for (const m of MESSAGES) {
    out.push('');
    out.push(...iface(m));
  }
  out.push('');
  out.push(`export type ToWorker = ${MESSAGES.filter((m) => m.dir === 'main -> worker').map((m) => m.iface).join(' | ')};`);
  out.push(`export type FromWorker = ${MESSAGES.filter((m) => m.dir === 'worker -> main').map((m) => m.iface).join(' | ')};`);
  out.push('export type ThreadMessage = ToWorker | FromWorker;');
  out.push('');
  out.push('/** Writes one message into the ring; false when it does not fit now. */');
  out.push('export function writeMessage(ring: RingProducer, m: ThreadMessage): boolean {');
  out.push('  switch (m.type) {');
  for (const m of MESSAGES) out.push(...writeCase(m));
  out.push('  }');
  out.push('  ring.publish();');
  out.push('  return true;');
  out.push('}');
  out.push('');
  out.push('/** Decodes one message at `at`; byte payloads are copied, so the result outlives the drain. */');
  out.push('export function readMessage(bytes: Uint8Array, v: DataView, at: number): ThreadMessage {');
  out.push('  const type = v.getUint8(at) as MsgType;');
  out.push('  const req = v.getUint32(at + 4, true);');
  out.push('  switch (type) {');
  for (const m of MESSAGES) out.push(...readCase(m));
  out.push('    default:');
  out.push('      throw new Error(`unknown thread message type ${type}`);');
  out.push('  }');
  out.push('}');
  return `${out.join('\n')}\n`;
}

const text = generate();
if (process.argv.includes('--check')) {
  // The tests run this: the committed file must be what the table gives.
  if (fs.readFileSync(outFile, 'utf8') !== text) {
    console.error(`${path.relative(repoRoot, outFile)} is not what tools/gen-ring-messages.mjs generates: run npm run gen`);
    process.exit(1);
  }
} else {
  fs.writeFileSync(outFile, text);
  console.log(`wrote ${path.relative(repoRoot, outFile)}`);
}
