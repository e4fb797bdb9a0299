// SASL against a real broker process: a SASL_SSL listener (PLAIN users from its JAAS setting,
// SCRAM users from --add-scram and AlterUserScramCredentials, all in the metadata log) and a
// SASL_PLAINTEXT listener limited to PLAIN with connections.max.reauth.ms. kcat and
// confluent_kafka (Debian's librdkafka, which repeats its SCRAM nonce) produce and read back with
// SCRAM-SHA-512; kafkajs uses PLAIN and SCRAM-SHA-256 over TLS; wrong passwords, unknown
// mechanisms and requests before authentication are refused; logs hold no password.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { saltedPassword } from '../../src/shared/scram.js';
import { freePort, hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, commandWorks, eventually, run } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';
import { makePki } from './certs.js';
import { handshake, plainLogin, scramLogin } from './sasl-client.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'secure_roundtrip.py');
const DELAY_MS = 400;
const REAUTH_MS = 1500;
const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_bob="bob-secret";';

const pki = makePki();
t.teardown(() => pki.cleanup());
const ca = readFileSync(pki.caCert, 'utf8');

function connectTls(port: number): Promise<WireClient> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: [ca], servername: 'localhost' });
    s.once('secureConnect', () => resolve(WireClient.over(s)));
    s.once('error', reject);
  });
}

const closed = (c: WireClient) => new Promise<void>((r) => (c.socket.destroyed ? r() : c.socket.once('close', () => r())));

t.test('SASL listeners', async (t) => {
  const port = await freePort();
  const internalPort = await freePort();
  const controllerPort = await freePort();
  const broker = await startBroker({
    port,
    controllerPort,
    overrides: {
      listeners: `SECURE://127.0.0.1:${port},INTERNAL://127.0.0.1:${internalPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      'listener.security.protocol.map': 'SECURE:SASL_SSL,INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'SECURE',
      'ssl.keystore.location': pki.serverKeystore,
      'listener.name.secure.plain.sasl.jaas.config': JAAS,
      'listener.name.internal.plain.sasl.jaas.config': JAAS,
      'listener.name.internal.sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.internal.connections.max.reauth.ms': REAUTH_MS,
      'connection.failed.authentication.delay.ms': DELAY_MS,
      'num.partitions': 1,
    },
    args: ['--add-scram', 'SCRAM-SHA-512=[name=admin,password=admin-secret]', '--add-scram', 'SCRAM-SHA-256=[name=admin,password=admin-secret,iterations=8192]'],
  });
  brokerTeardown(t, broker);

  await t.test('requests before authentication close the connection', async (t) => {
    const c = await connectTls(port);
    const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'sasl-test', clientSoftwareVersion: '1' });
    t.equal(versions.errorCode, ErrorCode.NONE, 'ApiVersions is served before authentication');
    const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }).then(
      () => 'answered',
      () => 'closed',
    );
    t.equal(md, 'closed', 'Metadata before authentication closes the connection unanswered');
  });

  await t.test('an unknown mechanism is refused with the list of enabled ones', async (t) => {
    const c = await connectTls(port);
    const h = await handshake(c, 'GSSAPI');
    t.equal(h.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'UNSUPPORTED_SASL_MECHANISM');
    t.same(h.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], 'the listener\'s mechanisms are listed');
    await closed(c);
    const internal = await WireClient.connect(internalPort);
    const hi = await handshake(internal, 'SCRAM-SHA-512');
    t.same([hi.errorCode, hi.mechanisms], [ErrorCode.UNSUPPORTED_SASL_MECHANISM, ['PLAIN']], 'the INTERNAL listener offers PLAIN only (listener.name override)');
    internal.close();
  });

  await t.test('a wrong password is refused after the failed-authentication delay, and the connection closed', async (t) => {
    for (const [mech, login] of [
      ['PLAIN', (c: WireClient) => plainLogin(c, 'admin', 'wrong-password-1')],
      ['SCRAM-SHA-512', (c: WireClient) => scramLogin(c, 'SCRAM-SHA-512', 'admin', 'wrong-password-2')],
      ['SCRAM-SHA-256 unknown user', (c: WireClient) => scramLogin(c, 'SCRAM-SHA-256', 'nobody', 'wrong-password-3')],
    ] as const) {
      const c = await connectTls(port);
      const started = Date.now();
      const r = await login(c);
      const took = Date.now() - started;
      t.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, `${mech}: SASL_AUTHENTICATION_FAILED (${r.errorMessage})`);
      t.ok(took >= DELAY_MS, `${mech}: answered after ${took} ms, not before ${DELAY_MS} ms`);
      await closed(c);
      t.pass(`${mech}: the connection is closed`);
    }
  });

  await t.test('a request pipelined behind a refused login does not cut off the refusal', async (t) => {
    const c = await connectTls(port);
    await handshake(c, 'PLAIN');
    const auth = c.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('\0admin\0pipelined-wrong') });
    const md = c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    md.catch(() => undefined);
    t.equal((await auth).errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, 'the client gets SASL_AUTHENTICATION_FAILED');
    t.equal(await md.then(() => 'answered', () => 'closed'), 'closed', 'and the pipelined request is not served');
  });

  await t.test('v0 handshake: PLAIN as a bare token frame (KIP-43) on the SASL_PLAINTEXT listener', async (t) => {
    const c = await WireClient.connect(internalPort);
    const h = await c.request(ApiKey.SaslHandshake, 0, { mechanism: 'PLAIN' });
    t.equal(h.errorCode, ErrorCode.NONE, 'handshake v0 accepted');
    const token = Buffer.from('\0bob\0bob-secret');
    const frame = Buffer.alloc(4 + token.length);
    frame.writeInt32BE(token.length);
    token.copy(frame, 4);
    const raw = c.socket;
    const answer = await new Promise<Buffer>((resolve) => {
      raw.removeAllListeners('data');
      raw.once('data', (d: Buffer) => resolve(d));
      raw.write(frame);
    });
    t.equal(answer.readInt32BE(0), 0, 'an empty token frame answers a good PLAIN login');
    raw.destroy();
  });

  await t.test('SCRAM credentials: AlterUserScramCredentials, DescribeUserScramCredentials, login, deletion', async (t) => {
    const admin = await connectTls(port);
    t.teardown(() => admin.close());
    const login = await plainLogin(admin, 'admin', 'admin-secret');
    t.equal(login.errorCode, ErrorCode.NONE, 'admin logs in with PLAIN');
    const salt = Buffer.from('alice-salt-0123456789');
    const upsert = (iterations: number) => ({
      deletions: [],
      upsertions: [{ name: 'alice', mechanism: 1, iterations, salt, saltedPassword: saltedPassword('SCRAM-SHA-256', 'alice-secret', salt, iterations) }],
    });
    const bad = await admin.request(ApiKey.AlterUserScramCredentials, 0, upsert(100));
    t.equal(bad.results[0].errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL, `too few iterations refused: ${bad.results[0].errorMessage}`);
    const ok = await admin.request(ApiKey.AlterUserScramCredentials, 0, upsert(4096));
    t.same(ok.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]), [['alice', 0]], 'alice upserted');
    const described = await admin.request(ApiKey.DescribeUserScramCredentials, 0, { users: null });
    const summary = described.results.map((r: { user: string; credentialInfos: { mechanism: number; iterations: number }[] }) => [r.user, r.credentialInfos.map((i) => [i.mechanism, i.iterations])]);
    t.same(summary, [['admin', [[1, 8192], [2, 4096]]], ['alice', [[1, 4096]]]], 'both users with their mechanisms and iterations (no secrets on the wire)');
    const missing = await admin.request(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'carol' }] });
    t.equal(missing.results[0].errorCode, ErrorCode.RESOURCE_NOT_FOUND, 'an unknown user is RESOURCE_NOT_FOUND');

    const alice = await connectTls(port);
    const r = await scramLogin(alice, 'SCRAM-SHA-256', 'alice', 'alice-secret');
    t.equal(r.errorCode, ErrorCode.NONE, 'alice logs in with SCRAM-SHA-256');
    t.match(r.authBytes.toString(), /^v=/, 'and gets the server signature');
    alice.close();

    const kafka = new Kafka({
      clientId: 'sasl-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 },
      ssl: { ca: [ca], servername: 'localhost' }, sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kafkajs-scram', messages: Array.from({ length: 20 }, (_, i) => ({ value: `s${i}` })) });
    await producer.disconnect();
    const kadmin = kafka.admin();
    await kadmin.connect();
    const offsets = await kadmin.fetchTopicOffsets('kafkajs-scram');
    await kadmin.disconnect();
    t.equal(offsets[0]?.high, '20', 'kafkajs with SCRAM-SHA-256 over TLS wrote 20 records');

    const del = await admin.request(ApiKey.AlterUserScramCredentials, 0, { deletions: [{ name: 'alice', mechanism: 1 }], upsertions: [] });
    t.equal(del.results[0].errorCode, ErrorCode.NONE, 'alice deleted');
    const gone = await connectTls(port);
    const after = await scramLogin(gone, 'SCRAM-SHA-256', 'alice', 'alice-secret');
    t.equal(after.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, 'alice can no longer log in');
  });

  await t.test('kafkajs with SASL/PLAIN over TLS', async (t) => {
    // A fresh options object for each client: kafkajs keeps state in the one it is given.
    const sasl: SASLOptions = { mechanism: 'plain', username: 'bob', password: 'bob-secret' };
    const kafka = new Kafka({ clientId: 'sasl-plain', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 }, ssl: { ca: [ca], servername: 'localhost' }, sasl });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kafkajs-plain', messages: Array.from({ length: 10 }, (_, i) => ({ value: `p${i}` })) });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets('kafkajs-plain');
    await admin.disconnect();
    t.equal(offsets[0]?.high, '10', '10 records written');
    const wrong = new Kafka({ clientId: 'sasl-wrong', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, ssl: { ca: [ca], servername: 'localhost' }, sasl: { mechanism: 'plain', username: 'bob', password: 'not-bob-secret' } });
    const p2 = wrong.producer();
    const refused = await p2.connect().then(() => 'connected', (e: Error) => e.message);
    t.match(refused, /SASL PLAIN authentication failed/, `a wrong password fails to connect: ${refused}`);
  });

  await t.test('connections.max.reauth.ms: the session expires unless the client re-authenticates', async (t) => {
    const c = await WireClient.connect(internalPort);
    const r = await plainLogin(c, 'bob', 'bob-secret');
    t.equal(r.sessionLifetimeMs, REAUTH_MS, 'SaslAuthenticate v2 tells the session lifetime');
    const again = await plainLogin(c, 'bob', 'bob-secret');
    t.equal(again.errorCode, ErrorCode.NONE, 're-authentication on the same connection succeeds');
    const md = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
    const served = await c.request(ApiKey.Metadata, 12, md);
    t.equal(served.brokers.length, 1, 'requests are served within the session');
    const started = Date.now();
    await eventually('the session to expire', () => Date.now() - started > REAUTH_MS, REAUTH_MS * 3);
    const late = await c.request(ApiKey.Metadata, 12, md).then(() => 'answered', () => 'closed');
    t.equal(late, 'closed', 'after the session expired a request closes the connection');
  });

  if (hasCommand('kcat')) {
    await t.test('kcat: SASL_SSL with SCRAM-SHA-512 produces and reads back; a wrong password is refused', async (t) => {
      const sasl = (pw: string) => ['-X', 'security.protocol=sasl_ssl', '-X', `ssl.ca.location=${pki.caCert}`, '-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=admin', '-X', `sasl.password=${pw}`];
      const lines = Array.from({ length: 300 }, (_, i) => `scram-${i}`);
      const p = await run('kcat', ['-b', broker.bootstrap, ...sasl('admin-secret'), '-P', '-t', 'kcat-scram', '-p', '0'], { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
      t.equal(p.code, 0, `kcat -P exits 0 ${p.stderr.slice(-300)}`);
      const c = await run('kcat', ['-b', broker.bootstrap, ...sasl('admin-secret'), '-C', '-t', 'kcat-scram', '-p', '0', '-o', 'beginning', '-e', '-q'], { timeoutMs: 30_000 });
      t.same(c.stdout.toString().split('\n').filter(Boolean), lines, 'every message read back in order');
      const wrong = await run('kcat', ['-b', broker.bootstrap, ...sasl('kcat-wrong-password'), '-L', '-m', '5'], { timeoutMs: 30_000 });
      t.not(wrong.code, 0, 'kcat with a wrong password gets no metadata');
      t.match(wrong.stderr, /invalid credentials/, 'and says the credentials are invalid');
    });
  } else {
    t.pass('kcat not installed: skipped');
  }

  if (commandWorks(PYTHON, ['-c', 'import confluent_kafka'])) {
    await t.test('confluent_kafka (Debian librdkafka): SASL_SSL with SCRAM-SHA-512', async (t) => {
      const extra = { 'security.protocol': 'SASL_SSL', 'ssl.ca.location': pki.caCert, 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'admin', 'sasl.password': 'admin-secret' };
      const r = await run(PYTHON, [SCRIPT, broker.bootstrap, 'confluent-scram', '200', JSON.stringify(extra)], { timeoutMs: 60_000 });
      const out = JSON.parse(r.stdout.toString() || '{}');
      t.equal(out.delivered, 200, `librdkafka ${out.version}: 200 messages delivered ${r.stderr.slice(-300)} ${JSON.stringify(out.errors)}`);
      t.same(out.consumed, Array.from({ length: 200 }, (_, i) => `m${i}`), 'and read back in order');
    });
  } else {
    t.pass('confluent_kafka not importable: skipped');
  }

  await t.test('no password or key reaches the log', async (t) => {
    const out = broker.output();
    for (const secret of ['admin-secret', 'bob-secret', 'alice-secret', 'wrong-password', 'kcat-wrong-password', 'PRIVATE KEY']) {
      t.notOk(out.includes(secret), `the broker log does not contain '${secret}'`);
    }
    t.match(out, /SASL authentication failed/, 'while the failed logins are logged');
  });
});

