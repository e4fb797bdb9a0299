// Which flush policy a topic's logs run with, from write.caching, flush.* and the broker's
// log.flush.interval.* / log.write.caching in server.properties or set dynamically.
import t from 'tap';
import { loadConfig } from '../../src/shared/config.js';
import { brokerLayers, topicSettings, WRITE_CACHING_FLUSH_BYTES, WRITE_CACHING_FLUSH_MS } from '../../src/main/effective-config.js';
import { FSYNC_BEFORE_ACK, NO_FLUSH_LIMIT } from '../../src/shared/log-config.js';

const policy = (topic: Record<string, string>, overrides: string[] = [], dynamic: Record<string, Record<string, string>> = {}) => {
  const { writeCaching, flushMessages, flushBytes, flushMs } = topicSettings(topic, brokerLayers(loadConfig({ overrides }), dynamic)).logConfig;
  return { writeCaching, flushMessages, flushBytes, flushMs };
};

t.test('nothing set: fsynced before acks=all answers', async (t) => {
  t.same(policy({}), FSYNC_BEFORE_ACK);
  t.same(policy({}, ['log.flush.interval.messages=9223372036854775807']), FSYNC_BEFORE_ACK, 'Kafka\'s default written out is still "not set"');
});

t.test('write.caching=true: Redpanda\'s limits unless flush.* say otherwise', async (t) => {
  t.same(policy({ 'write.caching': 'true' }), { writeCaching: true, flushMessages: NO_FLUSH_LIMIT, flushBytes: WRITE_CACHING_FLUSH_BYTES, flushMs: WRITE_CACHING_FLUSH_MS });
  t.same(policy({ 'write.caching': 'true', 'flush.ms': '20', 'flush.messages': '500' }), { writeCaching: true, flushMessages: 500, flushBytes: WRITE_CACHING_FLUSH_BYTES, flushMs: 20 });
  t.same(policy({}, ['log.write.caching=true']).writeCaching, true, 'the broker default from server.properties');
  t.same(policy({}, [], { '': { 'log.write.caching': 'true' } }).writeCaching, true, 'or from the dynamic cluster default');
  t.same(policy({ 'write.caching': 'false' }, ['log.write.caching=true']), FSYNC_BEFORE_ACK, 'a topic may opt out');
});

t.test('Kafka\'s flush settings alone: write caching with only the limits given', async (t) => {
  t.same(policy({ 'flush.ms': '1000' }), { writeCaching: true, flushMessages: NO_FLUSH_LIMIT, flushBytes: NO_FLUSH_LIMIT, flushMs: 1000 });
  t.same(policy({}, ['log.flush.interval.messages=10000']), { writeCaching: true, flushMessages: 10000, flushBytes: NO_FLUSH_LIMIT, flushMs: NO_FLUSH_LIMIT });
  t.same(policy({ 'flush.messages': '1', 'write.caching': 'true' }), FSYNC_BEFORE_ACK, 'flush.messages=1 fsyncs every append before the answer, as in Kafka');
});

t.test('log.flush.interval.* in server.properties are read, not ignored', async (t) => {
  t.same(loadConfig({ overrides: ['log.flush.interval.ms=500'] }).ignored, []);
  t.throws(() => loadConfig({ overrides: ['log.flush.interval.messages=0'] }), { message: /log\.flush\.interval\.messages/ }, 'below 1 is refused');
  t.throws(() => loadConfig({ overrides: ['log.flush.interval.ms=9223372036854775808'] }), { message: /log\.flush\.interval\.ms/ }, 'beyond a long is refused');
});
