// ssl.principal.mapping.rules: the user name a client certificate's subject gives, read from a
// certificate made by openssl (so the subject is in the form Node reports it), under Kafka's
// DEFAULT rule and RULE:pattern/replacement/[LU] rules; bad rule lists are refused.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mapPrincipal, parsePrincipalRules, principalRulesError, rfc2253 } from '../../src/shared/principal-mapping.js';
import { makePki } from './certs.js';

const pki = makePki();
t.teardown(() => pki.cleanup());

t.test('the subject in RFC 2253 form, most specific first', async (t) => {
  const c = pki.client('/C=US/O=Example, Inc./OU=ServiceUsers/CN=kafka-app');
  const dn = rfc2253(new X509Certificate(readFileSync(c.cert)).subject);
  t.equal(dn, 'CN=kafka-app,OU=ServiceUsers,O=Example\\, Inc.,C=US', 'as Java\'s X500Principal.getName() gives it');
  t.equal(mapPrincipal(parsePrincipalRules('DEFAULT'), dn), dn, 'DEFAULT keeps the whole name');
});

t.test('RULE entries, tried in order', async (t) => {
  const rules = parsePrincipalRules('RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/U, RULE:^CN=([a-z]+)@(.*?),.*$/$1 at $2/, DEFAULT');
  t.equal(mapPrincipal(rules, 'CN=kafka-app,OU=ServiceUsers,O=Example,C=US'), 'KAFKA-APP', 'first rule, upper-cased');
  t.equal(mapPrincipal(rules, 'CN=bob@example.com,O=Example'), 'bob at example.com', 'second rule, groups replaced');
  t.equal(mapPrincipal(rules, 'CN=other,O=Example'), 'CN=other,O=Example', 'DEFAULT when no rule matches');
  t.equal(mapPrincipal(parsePrincipalRules('RULE:^CN=(.*)$/$1/L'), 'O=Nobody'), null, 'no applicable rule: refused');
  t.equal(mapPrincipal(parsePrincipalRules('RULE:^CN=([^,]*),.*$/$1/L'), 'CN=Alice,O=X'), 'alice', 'lower-cased');
});

t.test('malformed rule lists are refused', async (t) => {
  t.equal(principalRulesError('DEFAULT'), null, 'DEFAULT is valid');
  t.match(principalRulesError('RULE:^CN=(.*$/$1/'), /invalid pattern/, 'a bad regular expression');
  t.match(principalRulesError('RULE:abc'), /closing/, 'a rule without its slashes');
  t.match(principalRulesError('NOPE'), /expected DEFAULT or RULE/, 'an unknown keyword');
});
