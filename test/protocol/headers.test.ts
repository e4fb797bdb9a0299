// Frame headers: which version each API version uses, and whole frames built from them.
import t from 'tap';
import {
  ApiKey,
  decodeApiVersionsResponse,
  decodeFetchResponse,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  ProtocolDecodeError,
  Reader,
  requestHeaderVersion,
  responseHeaderVersion,
  Writer,
} from '../../src/shared/protocol/index.js';

t.test('header versions follow flexibility, with the two exceptions', async (tt) => {
  tt.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  tt.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  tt.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
  tt.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 1), 1);
  tt.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  tt.equal(requestHeaderVersion(ApiKey.ApiVersions, 9), 2, 'versions newer than the schema stay flexible');
  tt.equal(responseHeaderVersion(ApiKey.Fetch, 11), 0);
  tt.equal(responseHeaderVersion(ApiKey.Fetch, 12), 1);
  tt.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0, 'ApiVersions responses always use header v0');
  tt.equal(requestHeaderVersion(9999, 0), -1);
});

t.test('request header v2 keeps a classic client id, then tagged fields', async (tt) => {
  const frame = Buffer.from('0012 0003 00000007 0003 616263 00 0263 0231 00'.replace(/ /g, ''), 'hex');
  const h = decodeRequestHeader(frame);
  tt.same(h, { apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'abc', headerLength: 14 });
  const v1 = decodeRequestHeader(Buffer.from('0003 0001 00000009 ffff'.replace(/ /g, ''), 'hex'));
  tt.same(v1, { apiKey: 3, apiVersion: 1, correlationId: 9, clientId: null, headerLength: 10 });
  const v0 = decodeRequestHeader(Buffer.from('0007 0000 00000002 0000'.replace(/ /g, ''), 'hex'));
  tt.equal(v0.headerLength, 8, 'ControlledShutdown v0 has no client id');
  tt.throws(() => decodeRequestHeader(Buffer.from('7fff000000000001', 'hex')), ProtocolDecodeError, 'unknown API key');
  tt.throws(() => decodeRequestHeader(Buffer.from('0012', 'hex')), ProtocolDecodeError, 'short frame');
});

t.test('request frames carry a size prefix and the right header', async (tt) => {
  const frame = Buffer.concat(encodeRequestFrame(ApiKey.ApiVersions, 3, 42, 'cli', { clientSoftwareName: 'x', clientSoftwareVersion: 'y' }));
  tt.equal(frame.readInt32BE(0), frame.length - 4);
  const h = decodeRequestHeader(frame.subarray(4));
  tt.match(h, { apiKey: 18, apiVersion: 3, correlationId: 42, clientId: 'cli' });
});

t.test('response frames: ApiVersions without header tags, flexible Fetch with them', async (tt) => {
  const api = Buffer.concat(encodeResponseFrame(ApiKey.ApiVersions, 3, 5, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }] }));
  tt.equal(api.readInt32BE(0), api.length - 4);
  tt.equal(api.readInt32BE(4), 5, 'correlation id');
  tt.equal(api.readInt16BE(8), 35, 'body starts right after the correlation id (header v0)');
  const r = new Reader(api, 4);
  tt.same(decodeResponseHeader(r, ApiKey.ApiVersions, 3), { correlationId: 5 });
  tt.match(decodeApiVersionsResponse(r, 3), { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }] });

  const records = Buffer.alloc(256 * 1024, 0xab);
  const w = new Writer();
  const chunks = encodeResponseFrame(ApiKey.Fetch, 12, 6, { responses: [{ topic: 't', partitions: [{ partitionIndex: 0, highWatermark: 1, records }] }] }, w);
  tt.ok(chunks.includes(records), 'record data is passed through, not copied');
  const fetch = Buffer.concat(chunks);
  tt.equal(fetch.readInt32BE(0), fetch.length - 4, 'size covers the referenced records');
  tt.equal(fetch[8], 0, 'header v1 ends with empty tagged fields');
  const fr = new Reader(fetch, 4);
  decodeResponseHeader(fr, ApiKey.Fetch, 12);
  tt.ok(decodeFetchResponse(fr, 12).responses[0]!.partitions[0]!.records!.equals(records));

  const second = Buffer.concat(encodeResponseFrame(ApiKey.ApiVersions, 0, 7, { errorCode: 0, apiKeys: [] }, w));
  tt.equal(second.toString('hex'), '0000000a' + '00000007' + '0000' + '00000000', 'a reused writer starts each frame afresh');
  tt.throws(() => encodeResponseFrame(ApiKey.Fetch, 99, 1, {}, w), 'an invalid version fails');
  tt.equal(w.length, 0, 'and leaves nothing behind in the writer');
});
