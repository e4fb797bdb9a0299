// Fuzzing the request path: every request decoder (through decodeRequestHeader, as the
// broker's dispatcher does it) is fed random bytes and mutated valid frames: bit flips,
// truncation at every byte position, huge length prefixes written at every position. The
// only allowed outcomes are a decoded value or a ProtocolDecodeError; memory must stay
// flat and every decode must finish quickly.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import {
  apiInfoByKey,
  decodeRequestHeader,
  encodeRequestFrame,
  ProtocolDecodeError,
  Reader,
  requestCodecs,
} from '../../src/shared/protocol/index.js';
import { rng, schemas, validVersions, ValueGenerator } from './schema-values.js';

const SEED = Number(process.env.FUZZ_SEED ?? 7);
const random = rng(SEED);

interface Outcome {
  decoded: number;
  rejected: number;
  slowestMs: number;
  wrong: string[];
}

function decodeFrame(frame: Buffer): void {
  const h = decodeRequestHeader(frame);
  const codec = requestCodecs[h.apiKey];
  if (codec === undefined) throw new ProtocolDecodeError(`no codec for ${h.apiKey}`);
  codec.decode(new Reader(frame, h.headerLength), h.apiVersion);
}

function feed(out: Outcome, label: string, frame: Buffer): void {
  // CPU time, not wall-clock time: a decode that loops or allocates without bound shows up in
  // it, while the waits of a loaded machine (another process holding the core) do not.
  const start = process.cpuUsage();
  try {
    decodeFrame(frame);
    out.decoded++;
  } catch (err) {
    if (err instanceof ProtocolDecodeError) out.rejected++;
    else if (out.wrong.length < 5) out.wrong.push(`${label}: ${(err as Error).name}: ${(err as Error).message} (${frame.toString('hex').slice(0, 120)})`);
  }
  const used = process.cpuUsage(start);
  const ms = (used.user + used.system) / 1000;
  if (ms > out.slowestMs) out.slowestMs = ms;
}

/** Valid request frames (without size prefix): captured ones plus random ones per API and version. */
function seedFrames(): { label: string; frame: Buffer }[] {
  const out: { label: string; frame: Buffer }[] = [];
  const dir = new URL('./fixtures/', import.meta.url);
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.hex'))) {
    const frame = Buffer.from(readFileSync(new URL(f, dir), 'utf8').replace(/\s+/g, ''), 'hex');
    out.push({ label: f, frame: frame.subarray(4) });
  }
  for (const schema of schemas) {
    if (schema.type !== 'request') continue;
    const gen = new ValueGenerator(random, schema);
    for (const version of validVersions(schema)) {
      const body = gen.message(version);
      const frame = Buffer.concat(encodeRequestFrame(schema.apiKey!, version, 1, 'fuzz', body)).subarray(4);
      out.push({ label: `${schema.name} v${version}`, frame });
    }
  }
  return out;
}

const HUGE: Buffer[] = [
  Buffer.from([0x7f, 0xff, 0xff, 0xff]), // int32 length 2^31-1
  Buffer.from([0x80, 0x00, 0x00, 0x00]), // int32 -2^31
  Buffer.from([0x7f, 0xff]), // int16 length 32767
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), // unsigned varint 2^32-1
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // over-long varint
];

const frames = seedFrames();
const baseline = process.memoryUsage();

t.test('truncation at every byte position', async (tt) => {
  const out: Outcome = { decoded: 0, rejected: 0, slowestMs: 0, wrong: [] };
  for (const { label, frame } of frames) {
    for (let n = 0; n < frame.length; n++) feed(out, `${label} cut at ${n}`, frame.subarray(0, n));
  }
  tt.same(out.wrong, [], 'only ProtocolDecodeError escapes');
  tt.ok(out.rejected > 0, `${out.rejected} truncated frames rejected, ${out.decoded} still decoded`);
  tt.ok(out.slowestMs < 250, `slowest decode ${out.slowestMs.toFixed(2)} ms of CPU`);
});

t.test('huge length prefixes written at every position', async (tt) => {
  const out: Outcome = { decoded: 0, rejected: 0, slowestMs: 0, wrong: [] };
  for (const { label, frame } of frames) {
    // Past the api key and version, so the frame still reaches its body decoder.
    for (let at = 4; at < frame.length; at++) {
      for (const huge of HUGE) {
        const copy = Buffer.from(frame);
        huge.copy(copy, at);
        feed(out, `${label} huge@${at}`, copy);
      }
    }
  }
  tt.same(out.wrong, [], 'only ProtocolDecodeError escapes');
  tt.ok(out.rejected > 0, `${out.rejected} rejected, ${out.decoded} decoded`);
  tt.ok(out.slowestMs < 250, `slowest decode ${out.slowestMs.toFixed(2)} ms of CPU`);
});

t.test('random bit flips', async (tt) => {
  const out: Outcome = { decoded: 0, rejected: 0, slowestMs: 0, wrong: [] };
  for (const { label, frame } of frames) {
    for (let i = 0; i < 64; i++) {
      const copy = Buffer.from(frame);
      const flips = 1 + Math.floor(random() * 3);
      for (let k = 0; k < flips; k++) {
        // Keep the api key and version most of the time so the body decoders get the work.
        const at = random() < 0.9 ? 4 + Math.floor(random() * (copy.length - 4)) : Math.floor(random() * copy.length);
        copy[at]! ^= 1 << Math.floor(random() * 8);
      }
      feed(out, `${label} flipped`, copy);
    }
  }
  tt.same(out.wrong, [], 'only ProtocolDecodeError escapes');
  tt.ok(out.decoded > 0 && out.rejected > 0, `${out.rejected} rejected, ${out.decoded} decoded`);
});

t.test('random bytes behind a valid api key and version, and fully random bytes', async (tt) => {
  const out: Outcome = { decoded: 0, rejected: 0, slowestMs: 0, wrong: [] };
  for (let key = 0; key < apiInfoByKey.length; key++) {
    const info = apiInfoByKey[key];
    if (info === undefined) continue;
    for (let i = 0; i < 200; i++) {
      const len = Math.floor(random() * 96);
      const frame = Buffer.alloc(4 + len);
      frame.writeInt16BE(key, 0);
      frame.writeInt16BE(info.request.minVersion + Math.floor(random() * (info.request.maxVersion - info.request.minVersion + 1)), 2);
      for (let j = 4; j < frame.length; j++) frame[j] = Math.floor(random() * 256);
      feed(out, `${info.name} random`, frame);
    }
  }
  for (let i = 0; i < 5000; i++) {
    const frame = Buffer.alloc(Math.floor(random() * 64));
    for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(random() * 256);
    feed(out, 'random', frame);
  }
  tt.same(out.wrong, [], 'only ProtocolDecodeError escapes');
  tt.ok(out.rejected > 0, `${out.rejected} rejected, ${out.decoded} decoded`);
});

t.test('memory stayed flat', async (tt) => {
  const now = process.memoryUsage();
  const grownMb = (now.rss - baseline.rss) / 2 ** 20;
  tt.ok(grownMb < 256, `rss grew ${grownMb.toFixed(1)} MiB over the whole fuzz run`);
  tt.ok(now.arrayBuffers - baseline.arrayBuffers < 64 * 2 ** 20, 'no large buffers retained');
});
