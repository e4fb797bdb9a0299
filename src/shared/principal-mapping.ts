/**
 * Kafka's `ssl.principal.mapping.rules`: how the subject of a client certificate becomes the
 * user name of a TLS connection's principal.
 *
 * The rules are a comma-separated list tried in order; the first that applies gives the name:
 *   DEFAULT                          the distinguished name itself, in RFC 2253 form
 *                                    ("CN=alice,OU=eng,O=example,C=US")
 *   RULE:pattern/replacement/[L|U]   when the regular expression matches the whole name, the
 *                                    name with every match replaced ($1 refers to a group),
 *                                    then lower- or upper-cased when L or U follows
 * A name that no rule applies to is refused, as Kafka refuses it.
 */

export type PrincipalRule =
  | { kind: 'default' }
  | { kind: 'rule'; pattern: RegExp; replacement: string; caseChange: '' | 'L' | 'U' };

/** Parses the setting; throws with the reason when it is not a list of rules. */
export function parsePrincipalRules(text: string): PrincipalRule[] {
  const rules: PrincipalRule[] = [];
  let i = 0;
  const skipSeparators = (): void => {
    while (i < text.length && (text[i] === ',' || /\s/.test(text[i]!))) i++;
  };
  /** Reads up to the next unescaped '/', which it consumes. */
  const part = (): string => {
    let out = '';
    while (i < text.length && text[i] !== '/') {
      if (text[i] === '\\' && i + 1 < text.length) out += text[i++];
      out += text[i++];
    }
    if (text[i] !== '/') throw new Error(`rule at ${i} lacks its closing '/'`);
    i++;
    return out;
  };
  skipSeparators();
  while (i < text.length) {
    if (text.startsWith('DEFAULT', i)) {
      rules.push({ kind: 'default' });
      i += 'DEFAULT'.length;
    } else if (text.startsWith('RULE:', i)) {
      i += 'RULE:'.length;
      const source = part();
      const replacement = part();
      let caseChange: '' | 'L' | 'U' = '';
      if (text[i] === 'L' || text[i] === 'U') caseChange = text[i++] as 'L' | 'U';
      let pattern: RegExp;
      try {
        pattern = new RegExp(source, 'g');
      } catch (e) {
        throw new Error(`invalid pattern '${source}': ${(e as Error).message}`);
      }
      rules.push({ kind: 'rule', pattern, replacement, caseChange });
    } else {
      throw new Error(`expected DEFAULT or RULE:pattern/replacement/ at '${text.slice(i, i + 20)}'`);
    }
    const next = text.indexOf(',', i);
    if (next < 0) i = text.length;
    else if (text.slice(i, next).trim() !== '') throw new Error(`unexpected '${text.slice(i, next).trim()}' after a rule`);
    else i = next;
    skipSeparators();
  }
  if (rules.length === 0) throw new Error('no rules');
  return rules;
}

/** Null when the setting parses, else why not (for the configuration check). */
export function principalRulesError(text: string): string | null {
  try {
    parsePrincipalRules(text);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The user name the rules give a distinguished name, or null when none applies. */
export function mapPrincipal(rules: readonly PrincipalRule[], dn: string): string | null {
  for (const r of rules) {
    if (r.kind === 'default') return dn;
    const whole = new RegExp(`^(?:${r.pattern.source})$`);
    if (!whole.test(dn)) continue;
    r.pattern.lastIndex = 0;
    const name = dn.replace(r.pattern, r.replacement);
    return r.caseChange === 'L' ? name.toLowerCase() : r.caseChange === 'U' ? name.toUpperCase() : name;
  }
  return null;
}

/**
 * The RFC 2253 form of a certificate subject as Node prints it (`X509Certificate.subject`:
 * one attribute per line, most general first, values already escaped): most specific first,
 * separated by commas, as Java's X500Principal.getName() gives it to Kafka's rules.
 */
export function rfc2253(subject: string): string {
  return subject
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/ \+ /g, '+'))
    .reverse()
    .join(',');
}
