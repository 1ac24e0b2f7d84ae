/**
 * `ssl.principal.mapping.rules`: how a TLS client's certificate subject (its distinguished name
 * in RFC 2253 form, e.g. "CN=alice,OU=eng,O=example") becomes the user of its principal, as
 * Kafka's SslPrincipalMapper does. The value is a comma-separated list of rules tried in order:
 *
 * - `RULE:pattern/replacement/` with an optional `L` or `U` after the last slash (lower or upper
 *   case the result): when the pattern matches the whole name, the name becomes the replacement,
 *   `$1`, `$2`... standing for the pattern's groups; a `/` inside either part is written `\/`;
 * - `DEFAULT`: the name itself.
 *
 * The first rule that applies gives the user; when none does, the client is refused (Kafka fails
 * the authentication). `DEFAULT` alone, the default value, keeps the whole name.
 */

export class PrincipalMappingError extends Error {}

interface Rule {
  readonly pattern: RegExp | null;
  readonly replacement: string;
  readonly caseChange: '' | 'L' | 'U';
  /** As written, for messages. */
  readonly text: string;
}

/** One rule at `at`: its end (past the comma that follows it, if any) and what it says. */
function parseRule(rules: string, at: number): { rule: Rule; next: number } {
  const rest = rules.slice(at);
  const lead = /^\s*/.exec(rest)?.[0].length ?? 0;
  const body = rest.slice(lead);
  const separator = (end: number): number => {
    const after = /^\s*(,\s*|$)/.exec(body.slice(end));
    if (after === null) {
      throw new PrincipalMappingError(`Invalid rule: ${body.slice(0, end + 20)}`);
    }
    return at + lead + end + after[0].length;
  };
  if (body.startsWith('DEFAULT')) {
    return {
      rule: { pattern: null, replacement: '', caseChange: '', text: 'DEFAULT' },
      next: separator('DEFAULT'.length),
    };
  }
  if (!body.startsWith('RULE:')) {
    throw new PrincipalMappingError(`Invalid rule: ${body.split(',')[0] ?? body}`);
  }
  // RULE:pattern/replacement/[LU]: the parts end at an unescaped "/".
  const parts: string[] = [];
  let i = 'RULE:'.length;
  let part = '';
  while (parts.length < 2) {
    const ch = body[i];
    if (ch === undefined) throw new PrincipalMappingError(`Invalid rule: ${body}`);
    if (ch === '\\' && i + 1 < body.length) {
      part += body.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (ch === '/') {
      parts.push(part);
      part = '';
    } else {
      part += ch;
    }
    i++;
  }
  let caseChange: Rule['caseChange'] = '';
  if (body[i] === 'L' || body[i] === 'U') {
    caseChange = body[i] as 'L' | 'U';
    i++;
  }
  const [source, replacement] = parts as [string, string];
  let pattern: RegExp;
  try {
    // An escaped "/" stands for itself; the rest is the pattern as written.
    pattern = new RegExp(`^(?:${source.replaceAll('\\/', '/')})$`);
  } catch (err) {
    throw new PrincipalMappingError(`Invalid rule pattern ${source}: ${(err as Error).message}`);
  }
  return {
    rule: {
      pattern,
      replacement: replacement.replaceAll('\\/', '/'),
      caseChange,
      text: body.slice(0, i),
    },
    next: separator(i),
  };
}

export class PrincipalMapper {
  readonly #rules: readonly Rule[];

  private constructor(rules: readonly Rule[]) {
    this.#rules = rules;
  }

  /** Parses the rules; throws PrincipalMappingError naming the first bad one. */
  static parse(rules: string): PrincipalMapper {
    const out: Rule[] = [];
    let at = 0;
    while (at < rules.length && rules.slice(at).trim() !== '') {
      const { rule, next } = parseRule(rules, at);
      out.push(rule);
      at = next;
    }
    if (out.length === 0) {
      out.push({ pattern: null, replacement: '', caseChange: '', text: 'DEFAULT' });
    }
    return new PrincipalMapper(out);
  }

  /** The user name for a distinguished name; throws when no rule applies. */
  userOf(distinguishedName: string): string {
    for (const rule of this.#rules) {
      if (rule.pattern === null) return distinguishedName;
      if (!rule.pattern.test(distinguishedName)) continue;
      const mapped = distinguishedName.replace(rule.pattern, rule.replacement);
      if (rule.caseChange === 'L') return mapped.toLowerCase();
      if (rule.caseChange === 'U') return mapped.toUpperCase();
      return mapped;
    }
    throw new PrincipalMappingError(
      `No rules apply to ${distinguishedName}, rules ${this.#rules.map((r) => r.text).join(',')}`,
    );
  }
}
