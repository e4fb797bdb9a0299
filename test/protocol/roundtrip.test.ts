// Round-trip property: random value -> encode -> decode gives the value back (for the
// fields that exist in the version), and re-encoding the decoded value gives the same
// bytes. The core messages get many cases per version; every other message gets a few.
import t, { type Test } from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { Reader, Writer } from '../../src/shared/protocol/index.js';
import { codecFor, project, rng, schemas, validVersions, ValueGenerator } from './schema-values.js';

const CORE = ['ApiVersions', 'Metadata', 'Produce', 'Fetch', 'ListOffsets', 'CreateTopics', 'FindCoordinator', 'JoinGroup', 'OffsetCommit'];
const SEED = Number(process.env.ROUNDTRIP_SEED ?? 20240611);

function checkMessage(tt: Test, name: string, cases: number): void {
  const schema = schemas.find((s) => s.name === name)!;
  const codec = codecFor(name);
  const random = rng(SEED ^ (schema.apiKey ?? 0) ^ (schema.type === 'request' ? 0 : 0x10000));
  const gen = new ValueGenerator(random, schema);
  const failures: string[] = [];
  for (const version of validVersions(schema)) {
    for (let i = 0; i < cases && failures.length < 3; i++) {
      const value = gen.message(version);
      const w = new Writer(64);
      codec.encode(w, version, value);
      const bytes = w.toBuffer();
      const r = new Reader(bytes);
      const decoded = codec.decode(r, version);
      if (r.pos !== bytes.length) failures.push(`v${version}: decode consumed ${r.pos} of ${bytes.length} bytes`);
      const got = project(schema, schema.fields, version, decoded);
      if (!isDeepStrictEqual(got, value)) {
        failures.push(`v${version}: decoded value differs\n${JSON.stringify(value)}\n${JSON.stringify(got)}`);
      }
      const w2 = new Writer(64);
      codec.encode(w2, version, decoded);
      if (!w2.toBuffer().equals(bytes)) failures.push(`v${version}: re-encoding the decoded value changed the bytes`);
    }
  }
  tt.same(failures, [], `${name} round-trips at versions ${schema.validVersions}`);
}

t.test('core messages, every valid version', async (tt) => {
  for (const api of CORE) {
    checkMessage(tt, `${api}Request`, 40);
    checkMessage(tt, `${api}Response`, 40);
  }
});

t.test('every other request and response', async (tt) => {
  for (const s of schemas) {
    if (s.type !== 'request' && s.type !== 'response') continue;
    if (CORE.some((api) => s.name === `${api}Request` || s.name === `${api}Response`)) continue;
    checkMessage(tt, s.name, 4);
  }
});

t.test('records given as chunks decode as their concatenation, not copied on encode', async (tt) => {
  const big = Buffer.alloc(64 * 1024, 7);
  const small = Buffer.from('tail');
  const codec = codecFor('FetchResponse');
  const value = {
    responses: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ partitionIndex: 3, highWatermark: 10, records: [big, small] }] }],
  };
  const w = new Writer();
  codec.encode(w, 16, value);
  const chunks = w.finish();
  tt.ok(chunks.includes(big), 'the large record chunk is in the output by reference');
  const decoded = codec.decode(new Reader(Buffer.concat(chunks)), 16) as { responses: { partitions: { records: Buffer }[] }[] };
  tt.ok(decoded.responses[0]!.partitions[0]!.records.equals(Buffer.concat([big, small])));
});
