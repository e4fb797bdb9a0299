// Size-prefixed frames cut out of a stream: the same frames wherever the reads split it, no
// copy for a frame inside one read, and a size over the limit refused from the prefix alone.
import t from 'tap';
import { FrameReader, FrameSizeError, sizePrefixed } from '../../src/shared/frame-reader.js';

const payloads = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello frames'), Buffer.alloc(300, 7), Buffer.from([0, 0, 0, 4])];
const stream = Buffer.concat(payloads.map((p) => sizePrefixed(p)));

function drain(r: FrameReader): Buffer[] {
  const out: Buffer[] = [];
  for (let f = r.next(); f !== null; f = r.next()) out.push(Buffer.from(f));
  return out;
}

function same(got: Buffer[]): boolean {
  return got.length === payloads.length && got.every((g, i) => g.equals(payloads[i]!));
}

t.test('every frame of a stream comes out whole, wherever one or two cuts split it', async (t) => {
  const bad: string[] = [];
  for (let a = 0; a <= stream.length; a++) {
    const r = new FrameReader(1024);
    r.push(stream.subarray(0, a));
    const got = drain(r);
    r.push(stream.subarray(a));
    got.push(...drain(r));
    if (!same(got) || r.buffered !== 0) bad.push(`cut at ${a}`);
  }
  // Two cuts: a frame's size split from its body, and a body split in three reads.
  for (let a = 0; a <= 40; a++) {
    for (let b = a; b <= stream.length; b += 7) {
      const r = new FrameReader(1024);
      const got: Buffer[] = [];
      for (const piece of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) {
        r.push(piece);
        got.push(...drain(r));
      }
      if (!same(got)) bad.push(`cuts at ${a} and ${b}`);
    }
  }
  t.same(bad, [], 'no split point changes the frames');
});

t.test('a stream fed one byte at a time gives the same frames', async (t) => {
  const r = new FrameReader(1024);
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) {
    r.push(stream.subarray(i, i + 1));
    got.push(...drain(r));
  }
  t.ok(same(got), 'all five frames, in order');
});

t.test('several frames in one read come out as views of that read', async (t) => {
  const r = new FrameReader(1024);
  const read = Buffer.from(stream);
  r.push(read);
  const frames: Buffer[] = [];
  for (let f = r.next(); f !== null; f = r.next()) frames.push(f);
  t.equal(frames.length, payloads.length, 'every frame of the read');
  t.ok(frames.every((f) => f.buffer === read.buffer), 'none of them copied');
  t.equal(frames[2]!.toString(), 'hello frames');
  t.equal(r.buffered, 0, 'nothing left over');
});

t.test('a size over the limit is refused as soon as its four bytes are read', async (t) => {
  const r = new FrameReader(100);
  const head = Buffer.alloc(4);
  head.writeInt32BE(101);
  r.push(head);
  const err = t.throws(() => r.next()) as FrameSizeError;
  t.equal(err.name, 'FrameSizeError');
  t.equal(err.size, 101, 'the announced size is reported');
  t.equal(r.buffered, 4, 'nothing but the size itself was held');
  const exact = new FrameReader(100);
  exact.push(sizePrefixed(Buffer.alloc(100)));
  t.equal(exact.next()?.length, 100, 'a frame of exactly the limit is read');
});

t.test('a negative size is refused', async (t) => {
  const r = new FrameReader();
  r.push(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  const err = t.throws(() => r.next()) as FrameSizeError;
  t.equal(err.size, -2);
});

t.test('a size split across reads is checked once it is whole', async (t) => {
  const r = new FrameReader(100);
  r.push(Buffer.from([0, 0]));
  t.equal(r.next(), null, 'half a size: nothing yet');
  r.push(Buffer.from([1, 0]));
  t.throws(() => r.next(), { name: 'FrameSizeError', size: 256 });
});
