/**
 * The security of a client listener, from Kafka's settings (with their `listener.name.<name>.`
 * overrides): its protocol, its TLS key material and policy, its SASL mechanisms and PLAIN
 * users, and the inter-broker client's side of the same.
 */
import { JAAS_SETTING, LISTENER_SETTINGS } from './config-settings.js';
import { STORE_TYPES, type StoreType } from './key-store.js';
import { principalRulesError } from './principal-mapping.js';
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslSettings {
  mechanisms: SaslMechanism[];
  /** PLAIN users and passwords, from the listener's plain.sasl.jaas.config. */
  plainUsers: Record<string, string>;
  /** connections.max.reauth.ms; 0: sessions do not expire. */
  reauthMs: number;
}

export type ClientAuth = 'required' | 'requested' | 'none';

/** Where a TLS endpoint's key and trusted certificates come from (read at start and on reload). */
export interface KeyStoreSettings {
  keystoreType: StoreType;
  /** A file holding key and chain, or null when both are inline (PEM). */
  keystoreLocation: string | null;
  certificateChain: string | null;
  key: string | null;
  keystorePassword: string | null;
  keyPassword: string | null;
  truststoreType: StoreType;
  truststoreLocation: string | null;
  truststoreCertificates: string | null;
  truststorePassword: string | null;
}

/** A TLS listener's key material and policy. */
export interface TlsSettings extends KeyStoreSettings {
  clientAuth: ClientAuth;
  /** Node's names: 'TLSv1.2', 'TLSv1.3'. */
  protocols: string[];
  principalMappingRules: string;
}

/** Files and credentials of the inter-broker client; the files are read at start. */
export interface InterBrokerSettings {
  tls: (KeyStoreSettings & { verifyHostname: boolean }) | null;
  sasl: { mechanism: SaslMechanism; username: string; password: string } | null;
}

export interface ListenerSecurity {
  protocol: SecurityProtocol;
  /** Present for SSL and SASL_SSL listeners. */
  tls: TlsSettings | null;
  /** Present for SASL_PLAINTEXT and SASL_SSL listeners. */
  sasl: SaslSettings | null;
}

const LISTENER_PREFIX = /^listener\.name\.([a-z0-9_]+)\.(.+)$/i;

export function isListenerSetting(key: string): boolean {
  const m = LISTENER_PREFIX.exec(key);
  return m !== null && (m[2]! in LISTENER_SETTINGS || JAAS_SETTING.test(m[2]!));
}

/** A listener's value of a per-listener setting: its prefixed override, else the plain one. */
export function listenerValue(raw: Map<string, string>, listener: string, key: string): string {
  const prefixed = `listener.name.${listener.toLowerCase()}.${key}`;
  for (const [k, v] of raw) if (k.toLowerCase() === prefixed) return v;
  return raw.get(key) ?? LISTENER_SETTINGS[key]!.default;
}

const TLS_VERSIONS = new Set(['TLSv1.2', 'TLSv1.3']);

export function listenerSecurity(name: string, protocol: SecurityProtocol, raw: Map<string, string>, problems: string[]): ListenerSecurity {
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL' ? tlsSettings(name, raw, problems) : null;
  const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL' ? saslSettings(name, raw, problems) : null;
  return { protocol, tls, sasl };
}

export function saslSettings(name: string, raw: Map<string, string>, problems: string[]): SaslSettings {
  const where = `listener ${name}`;
  const mechanisms: SaslMechanism[] = [];
  for (const m of listenerValue(raw, name, 'sasl.enabled.mechanisms').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)) {
    if ((SASL_MECHANISMS as readonly string[]).includes(m)) mechanisms.push(m as SaslMechanism);
    else problems.push(`${where}: SASL mechanism ${m} is not supported (${SASL_MECHANISMS.join(', ')})`);
  }
  if (mechanisms.length === 0) problems.push(`${where}: sasl.enabled.mechanisms lists no mechanism`);
  const plainUsers: Record<string, string> = {};
  const jaasKey = `listener.name.${name.toLowerCase()}.plain.sasl.jaas.config`;
  for (const [k, v] of raw) {
    if (k.toLowerCase() !== jaasKey) continue;
    try {
      const jaas = parseJaas(v);
      if (jaas.loginModule !== 'org.apache.kafka.common.security.plain.PlainLoginModule') {
        problems.push(`${jaasKey}: login module ${jaas.loginModule} is not PlainLoginModule`);
      }
      for (const [option, value] of Object.entries(jaas.options)) if (option.startsWith('user_')) plainUsers[option.slice(5)] = value;
    } catch (e) {
      problems.push(`${jaasKey}: ${(e as Error).message}`);
    }
  }
  const reauth = listenerValue(raw, name, 'connections.max.reauth.ms').trim();
  if (!/^\d+$/.test(reauth)) problems.push(`${where}: connections.max.reauth.ms must be a non-negative integer, got '${reauth}'`);
  return { mechanisms, plainUsers, reauthMs: Number(reauth) || 0 };
}

/**
 * One JAAS login module entry as Kafka's sasl.jaas.config holds it:
 * `<class> required|requisite|sufficient|optional key="value" ... ;`
 */
export function parseJaas(text: string): { loginModule: string; options: Record<string, string> } {
  const m = /^\s*([\w.$]+)\s+(required|requisite|sufficient|optional)\s*([\s\S]*?)\s*;\s*$/.exec(text);
  if (!m) throw new Error('not a JAAS entry (<LoginModule class> required key="value" ... ;)');
  const options: Record<string, string> = {};
  const re = /\s*([^\s=]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))/y;
  let rest = m[3]!;
  while (rest.trim() !== '') {
    re.lastIndex = 0;
    const o = re.exec(rest);
    if (!o) throw new Error(`malformed option at character ${m[3]!.length - rest.length}`);
    options[o[1]!] = o[2] !== undefined ? o[2].replace(/\\(.)/g, '$1') : o[3]!;
    rest = rest.slice(re.lastIndex);
  }
  return { loginModule: m[1]!, options };
}

export function tlsSettings(name: string, raw: Map<string, string>, problems: string[]): TlsSettings {
  const get = (k: string): string => listenerValue(raw, name, k).trim();
  const orNull = (k: string): string | null => (get(k) === '' ? null : get(k));
  const where = `listener ${name}`;
  const storeType = (k: string): StoreType => {
    const t = get(k).toUpperCase();
    if ((STORE_TYPES as readonly string[]).includes(t)) return t as StoreType;
    problems.push(`${where}: ${k}=${get(k)} is not supported (PEM, PKCS12 or JKS)`);
    return 'PEM';
  };
  const tls: TlsSettings = {
    keystoreType: storeType('ssl.keystore.type'),
    keystoreLocation: orNull('ssl.keystore.location'),
    certificateChain: orNull('ssl.keystore.certificate.chain'),
    key: orNull('ssl.keystore.key'),
    keystorePassword: orNull('ssl.keystore.password'),
    keyPassword: orNull('ssl.key.password'),
    truststoreType: storeType('ssl.truststore.type'),
    truststoreLocation: orNull('ssl.truststore.location'),
    truststoreCertificates: orNull('ssl.truststore.certificates'),
    truststorePassword: orNull('ssl.truststore.password'),
    clientAuth: get('ssl.client.auth').toLowerCase() as ClientAuth,
    protocols: get('ssl.enabled.protocols').split(',').map((p) => p.trim()).filter((p) => p !== ''),
    principalMappingRules: get('ssl.principal.mapping.rules'),
  };
  if (tls.keystoreLocation === null && (tls.certificateChain === null || tls.key === null)) {
    problems.push(`${where}: SSL needs ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key`);
  }
  if (tls.keystoreType !== 'PEM' && tls.keystoreLocation === null) {
    problems.push(`${where}: ssl.keystore.type=${tls.keystoreType} needs ssl.keystore.location (inline key stores are PEM only)`);
  }
  if (tls.keystoreType !== 'PEM' && tls.keystorePassword === null) {
    problems.push(`${where}: ssl.keystore.type=${tls.keystoreType} needs ssl.keystore.password`);
  }
  if (tls.truststoreType !== 'PEM' && tls.truststoreCertificates !== null) {
    problems.push(`${where}: ssl.truststore.certificates is PEM text, but ssl.truststore.type=${tls.truststoreType}`);
  }
  if (!['required', 'requested', 'none'].includes(tls.clientAuth)) {
    problems.push(`${where}: ssl.client.auth must be required, requested or none, got '${get('ssl.client.auth')}'`);
  }
  if (tls.clientAuth !== 'none' && tls.truststoreLocation === null && tls.truststoreCertificates === null) {
    problems.push(`${where}: ssl.client.auth=${tls.clientAuth} needs ssl.truststore.location or ssl.truststore.certificates`);
  }
  const unknown = tls.protocols.filter((p) => !TLS_VERSIONS.has(p));
  if (unknown.length > 0 || tls.protocols.length === 0) {
    problems.push(`${where}: ssl.enabled.protocols must list TLSv1.2 and/or TLSv1.3, got '${get('ssl.enabled.protocols')}'`);
  }
  const rulesError = principalRulesError(tls.principalMappingRules);
  if (rulesError !== null) problems.push(`${where}: ssl.principal.mapping.rules: ${rulesError}`);
  return tls;
}

/**
 * The client side of the inter-broker listener (followers fetch from their leader's advertised
 * listener): its trust store and key store for TLS, and for SASL the mechanism of
 * sasl.mechanism.inter.broker.protocol with the username and password of that listener's
 * JAAS setting for it, as Kafka's brokers take them.
 */
export function interBrokerSettings(name: string, sec: ListenerSecurity | undefined, mechanism: string, raw: Map<string, string>, problems: string[]): InterBrokerSettings {
  if (sec === undefined) return { tls: null, sasl: null };
  const t = sec.tls;
  const tls = t === null ? null : {
    keystoreType: t.keystoreType, keystoreLocation: t.keystoreLocation, certificateChain: t.certificateChain, key: t.key,
    keystorePassword: t.keystorePassword, keyPassword: t.keyPassword, truststoreType: t.truststoreType,
    truststoreLocation: t.truststoreLocation, truststoreCertificates: t.truststoreCertificates, truststorePassword: t.truststorePassword,
    verifyHostname: listenerValue(raw, name, 'ssl.endpoint.identification.algorithm').trim().toLowerCase() === 'https',
  };
  if (sec.sasl === null) return { tls, sasl: null };
  if (!sec.sasl.mechanisms.includes(mechanism as SaslMechanism)) {
    problems.push(`sasl.mechanism.inter.broker.protocol: ${mechanism} is not enabled on the inter-broker listener ${name}`);
    return { tls, sasl: null };
  }
  const key = `listener.name.${name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const text = [...raw].find(([k]) => k.toLowerCase() === key)?.[1];
  let options: Record<string, string> = {};
  try {
    options = text === undefined ? {} : parseJaas(text).options;
  } catch (e) {
    problems.push(`${key}: ${(e as Error).message}`);
  }
  if (options.username === undefined || options.password === undefined) {
    problems.push(`${key}: username and password are needed for brokers to log in to each other with ${mechanism}`);
    return { tls, sasl: null };
  }
  return { tls, sasl: { mechanism: mechanism as SaslMechanism, username: options.username, password: options.password } };
}
