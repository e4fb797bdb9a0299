// The SCRAM server and the SASL session state machine, driven directly: RFC 7677's
// SCRAM-SHA-256 example exchange byte for byte, the repeated-nonce form of librdkafka before
// 2.6.1 accepted while any other nonce is refused, wrong passwords and unknown users refused
// alike, and the order SaslHandshake/SaslAuthenticate must come in.
import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { ErrorCode } from '../../src/shared/errors.js';
import { credentialFromPassword, saltedPassword, ScramServer } from '../../src/shared/scram.js';
import { SaslSession } from '../../src/main/security/sasl-session.js';

const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const SNONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const CNONCE = 'rOprNGfwEbeRWgbNEkqO';
const userCred = credentialFromPassword('SCRAM-SHA-256', 'pencil', SALT, 4096);

function server(known = true): ScramServer {
  return new ScramServer('SCRAM-SHA-256', { credential: (u) => (known && u === 'user' ? userCred : undefined), nonce: () => SNONCE });
}

/** client-final for a nonce and password, as a client computes it. */
function clientFinal(serverFirst: string, bare: string, nonce: string, password: string): string {
  const salted = saltedPassword('SCRAM-SHA-256', password, SALT, 4096);
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const sig = createHmac('sha256', storedKey).update(`${bare},${serverFirst},${withoutProof}`).digest();
  return `${withoutProof},p=${Buffer.from(clientKey.map((b, i) => b ^ sig[i]!)).toString('base64')}`;
}

t.test('RFC 7677 example exchange', async (t) => {
  const s = server();
  const first = s.first(Buffer.from(`n,,n=user,r=${CNONCE}`)).toString();
  t.equal(first, `r=${CNONCE}${SNONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, 'server-first as in the RFC');
  const fin = s.final(Buffer.from(`c=biws,r=${CNONCE}${SNONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`));
  t.equal(fin.serverFinal.toString(), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', 'server-final as in the RFC');
  t.equal(fin.user, 'user', 'the user is authenticated');
});

t.test('nonces: the combined one, or the client nonce repeated in front of it; nothing else', async (t) => {
  const bare = `n=user,r=${CNONCE}`;
  for (const [what, nonce, ok] of [
    ['combined nonce', CNONCE + SNONCE, true],
    ['client nonce repeated (librdkafka < 2.6.1)', CNONCE + CNONCE + SNONCE, true],
    ['client nonce only (a replay without the server part)', CNONCE, false],
    ['another server nonce', `${CNONCE}other`, false],
    ['server nonce repeated', CNONCE + SNONCE + SNONCE, false],
  ] as const) {
    const s = server();
    const first = s.first(Buffer.from(`n,,${bare}`)).toString();
    const attempt = () => s.final(Buffer.from(clientFinal(first, bare, nonce, 'pencil')));
    if (ok) {
      t.equal(attempt().user, 'user', `${what}: accepted`);
      t.equal(s.repeatedClientNonce, nonce !== CNONCE + SNONCE, `${what}: the repeated form is noted`);
    } else {
      t.throws(attempt, /nonce/, `${what}: refused`);
    }
  }
});

t.test('wrong password and unknown user fail the same way, at the proof', async (t) => {
  const bare = `n=user,r=${CNONCE}`;
  const s = server();
  const first = s.first(Buffer.from(`n,,${bare}`)).toString();
  t.throws(() => s.final(Buffer.from(clientFinal(first, bare, CNONCE + SNONCE, 'not-pencil'))), /invalid credentials/, 'wrong password');
  const u = server(false);
  const firstUnknown = u.first(Buffer.from(`n,,${bare}`)).toString();
  t.match(firstUnknown, /^r=.*,s=.+,i=4096$/, 'an unknown user still gets a server-first');
  t.throws(() => u.final(Buffer.from(clientFinal(firstUnknown, bare, CNONCE + SNONCE, 'pencil'))), /invalid credentials/, 'and fails at the proof');
  t.throws(() => server().first(Buffer.from('garbage')), /malformed/, 'garbage client-first');
  t.throws(() => server().first(Buffer.from('p=tls-unique,,n=user,r=x')), /channel binding/, 'channel binding asked for');
  t.throws(() => server().first(Buffer.from('n,,n=us=ZZer,r=x')), /escape/, 'bad name escape');
});

t.test('SASL session order', async (t) => {
  const deps = { scramCredential: () => undefined, nonce: () => 'n', nowMs: () => 0 };
  const settings = { mechanisms: ['PLAIN' as const], plainUsers: { bob: 'pw' }, reauthMs: 0 };
  const early = new SaslSession(settings, deps);
  t.equal(early.authenticate(Buffer.from('\0bob\0pw')).errorCode, ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate before the handshake');
  t.equal(early.mayServe, false, 'and the session serves nothing');
  const s = new SaslSession(settings, deps);
  t.equal(s.handshake('SCRAM-SHA-256', 1).errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'a mechanism the listener does not enable');
  const ok = new SaslSession(settings, deps);
  t.equal(ok.handshake('PLAIN', 1).errorCode, ErrorCode.NONE, 'PLAIN handshake');
  t.equal(ok.handshake('PLAIN', 1).errorCode, ErrorCode.ILLEGAL_SASL_STATE, 'a second handshake before authenticating');
  const good = new SaslSession(settings, deps);
  good.handshake('PLAIN', 1);
  const r = good.authenticate(Buffer.from('\0bob\0pw'));
  t.same([r.errorCode, r.principal, good.mayServe], [ErrorCode.NONE, 'User:bob', true], 'authenticated as User:bob');
  const other = new SaslSession({ ...settings, plainUsers: { bob: 'pw', eve: 'pw2' } }, deps);
  other.handshake('PLAIN', 1);
  other.authenticate(Buffer.from('\0bob\0pw'));
  other.handshake('PLAIN', 1);
  t.equal(other.authenticate(Buffer.from('\0eve\0pw2')).errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, 're-authentication as another principal is refused');
});

t.test('ScramClient (a broker logging in to another) against ScramServer', async (t) => {
  const { ScramClient } = await import('../../src/shared/scram.js');
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    const cred = credentialFromPassword(mechanism, 'broker-secret', SALT, 4096);
    const s = new ScramServer(mechanism, { credential: () => cred, nonce: () => 'srv' });
    const c = new ScramClient(mechanism, 'broker', 'broker-secret', 'cli');
    const fin = s.final(c.final(s.first(c.first())));
    t.equal(fin.user, 'broker', `${mechanism}: the server accepts the client`);
    t.doesNotThrow(() => c.verify(fin.serverFinal), `${mechanism}: the client accepts the server's signature`);
    const wrong = new ScramClient(mechanism, 'broker', 'broker-secret', 'cli');
    const s2 = new ScramServer(mechanism, { credential: () => credentialFromPassword(mechanism, 'other', SALT, 4096), nonce: () => 'srv' });
    wrong.final(s2.first(wrong.first()));
    t.throws(() => wrong.verify(Buffer.from(`v=${Buffer.alloc(mechanism === 'SCRAM-SHA-256' ? 32 : 64).toString('base64')}`)), /signature/, `${mechanism}: a server without the credential is not believed`);
  }
});
